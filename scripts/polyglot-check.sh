#!/usr/bin/env bash
# Proves the contract in proto/ works for non-TypeScript clients: generates a
# Python and a Go client from proto/ with stock protoc and Debian's plugins
# (no edits to generated code, no network beyond apt), then
#   Python: imports every *_pb2 / *_pb2_grpc module with Debian's python3 and
#           builds a TaskServiceStub and RunnerServiceStub on an insecure channel;
#   Go:     builds (offline, GOPATH mode against /usr/share/gocode) every
#           generated package plus a tiny main that calls NewTaskServiceClient
#           and NewRunnerServiceClient, then runs it.
# Installs whatever is missing with apt-get. A language is skipped (SKIP: line,
# exit 0) only when a package it needs has no apt candidate at all.
# Last line on success: "polyglot: python ok, go ok".
#
# Env: POLYGLOT_KEEP=1 keeps the temp dir; PROTOC, PYTHON, GO override the
# Debian tools (/usr/bin/protoc, /usr/bin/python3, /usr/bin/go).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROTO_DIR="$ROOT/proto"
PROTOC="${PROTOC:-/usr/bin/protoc}"
PYTHON="${PYTHON:-/usr/bin/python3}"   # Debian's; python3-grpcio is built for it
GO="${GO:-/usr/bin/go}"
GOCODE=/usr/share/gocode               # Debian's GOPATH of golang-*-dev packages

COMMON_PKGS=(protobuf-compiler libprotobuf-dev)   # protoc + well-known types
PY_PKGS=(python3 protobuf-compiler-grpc python3-grpcio python3-protobuf)
GO_PKGS=(golang-go protoc-gen-go protoc-gen-go-grpc golang-google-protobuf-dev golang-google-grpc-dev)

log() { echo "polyglot: $*"; }
die() { echo "polyglot: FAIL: $*" >&2; exit 1; }

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------- install ---
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

SUDO=()
if [[ $EUID -ne 0 ]] && command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); fi
apt_get() {
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get -qq -y \
    -o Dpkg::Use-Pty=0 -o DPkg::Lock::Timeout=300 "$@"
}

# missing LANG PKG...: appends LANG's uninstalled packages to MISSING_<LANG>.
missing() {
  local lang="$1" p; shift
  local -n acc="MISSING_$lang"
  for p in "$@"; do installed "$p" || acc+=("$p"); done
}

t0="$(now)"
DO_PY=1; DO_GO=1; PY_RESULT=skipped; GO_RESULT=skipped
MISSING_common=(); MISSING_python=(); MISSING_go=()
missing common "${COMMON_PKGS[@]}"
missing python "${PY_PKGS[@]}"
missing go "${GO_PKGS[@]}"
ALL_MISSING=("${MISSING_common[@]}" "${MISSING_python[@]}" "${MISSING_go[@]}")

if [[ ${#ALL_MISSING[@]} -gt 0 ]]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    # Not a Debian-like machine: nothing here can install the toolchains.
    [[ ${#MISSING_common[@]} -eq 0 ]] || {
      echo "SKIP: python and go: no apt-get to install ${MISSING_common[*]}"
      log "python skipped, go skipped"; exit 0; }
    [[ ${#MISSING_python[@]} -eq 0 ]] || { echo "SKIP: python: no apt-get to install ${MISSING_python[*]}"; DO_PY=0; }
    [[ ${#MISSING_go[@]} -eq 0 ]] || { echo "SKIP: go: no apt-get to install ${MISSING_go[*]}"; DO_GO=0; }
  else
    [[ $EUID -eq 0 || ${#SUDO[@]} -gt 0 ]] || die "need root (or sudo) to apt-get install ${ALL_MISSING[*]}"
    log "apt-get update (missing: ${ALL_MISSING[*]})"
    apt_get update >/dev/null || die "apt-get update failed"
    no_candidate() {  # echoes the packages among "$@" that apt cannot install
      local p c
      for p in "$@"; do
        c="$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')"
        [[ -n "$c" && "$c" != "(none)" ]] || echo "$p"
      done
    }
    none="$(no_candidate "${MISSING_common[@]}" | xargs)"
    if [[ -n "$none" ]]; then
      echo "SKIP: python and go: no apt candidate for $none"
      log "python skipped, go skipped"; exit 0
    fi
    TO_INSTALL=("${MISSING_common[@]}")
    none="$(no_candidate "${MISSING_python[@]}" | xargs)"
    if [[ -n "$none" ]]; then echo "SKIP: python: no apt candidate for $none"; DO_PY=0
    else TO_INSTALL+=("${MISSING_python[@]}"); fi
    none="$(no_candidate "${MISSING_go[@]}" | xargs)"
    if [[ -n "$none" ]]; then echo "SKIP: go: no apt candidate for $none"; DO_GO=0
    else TO_INSTALL+=("${MISSING_go[@]}"); fi
    if [[ ${#TO_INSTALL[@]} -gt 0 ]]; then
      log "apt-get install ${TO_INSTALL[*]}"
      aptlog="$(mktemp)"
      if ! apt_get install --no-install-recommends "${TO_INSTALL[@]}" >"$aptlog" 2>&1; then
        cat "$aptlog" >&2; rm -f "$aptlog"
        die "apt-get install ${TO_INSTALL[*]} failed"
      fi
      rm -f "$aptlog"
    fi
  fi
fi
t1="$(now)"
log "toolchain ready in $(secs "$t0" "$t1")s"

[[ -x "$PROTOC" ]] || die "protoc not found at $PROTOC"
log "$("$PROTOC" --version)"

# ------------------------------------------------------------- generate ---
WORK="$(mktemp -d "${TMPDIR:-/tmp}/polyglot.XXXXXX")"
if [[ "${POLYGLOT_KEEP:-0}" == 1 ]]; then
  log "keeping generated code in $WORK"
else
  trap 'rm -rf "$WORK"' EXIT
fi

mapfile -t PROTOS < <(cd "$PROTO_DIR" && find . -name '*.proto' -type f | sed 's|^\./||' | LC_ALL=C sort)
[[ ${#PROTOS[@]} -gt 0 ]] || die "no .proto files under $PROTO_DIR"
log "${#PROTOS[@]} proto files: ${PROTOS[*]}"

# Only -I proto: the well-known types come from protoc's own include path.
protoc_run() { (cd "$PROTO_DIR" && "$PROTOC" -I . "$@" "${PROTOS[@]}"); }

# ---------------------------------------------------------------- python ---
if [[ $DO_PY -eq 1 ]]; then
  t=$(now)
  PLUGIN="$(command -v grpc_python_plugin || true)"
  [[ -n "$PLUGIN" ]] || die "python: grpc_python_plugin not found (protobuf-compiler-grpc)"
  [[ -x "$PYTHON" ]] || die "python: $PYTHON not found"
  PY_OUT="$WORK/python"; mkdir -p "$PY_OUT"
  protoc_run --python_out="$PY_OUT" \
    --plugin=protoc-gen-grpc_python="$PLUGIN" --grpc_python_out="$PY_OUT" \
    || die "python: protoc generation failed"
  # -I so the user's site-packages / PYTHONPATH cannot shadow Debian's grpc.
  env -u PYTHONPATH -u PYTHONHOME "$PYTHON" -I - "$PY_OUT" <<'PY' || die "python: generated client failed (see above)"
import importlib, pathlib, sys
out = pathlib.Path(sys.argv[1])
sys.path.insert(0, str(out))
import grpc, google.protobuf
mods = sorted(
    ".".join(p.relative_to(out).with_suffix("").parts)
    for p in out.rglob("*.py")
    if p.name.endswith(("_pb2.py", "_pb2_grpc.py"))
)
assert mods, "no *_pb2 modules generated"
loaded = {m: importlib.import_module(m) for m in mods}
assert any(m.endswith("_pb2_grpc") for m in mods), "no *_pb2_grpc modules generated"
channel = grpc.insecure_channel("127.0.0.1:1")  # never dialled: no RPC is made
stubs = {}
for want in ("TaskServiceStub", "RunnerServiceStub"):
    found = [(m, getattr(mod, want)) for m, mod in loaded.items() if hasattr(mod, want)]
    assert len(found) == 1, f"{want}: expected one module defining it, found {[m for m, _ in found]}"
    mod_name, cls = found[0]
    stub = cls(channel)
    # every RPC in the service descriptor must be a callable on the stub
    pb2 = loaded[mod_name[: -len("_grpc")]]
    svc = pb2.DESCRIPTOR.services_by_name[want[: -len("Stub")]]
    missing = [md.name for md in svc.methods if not callable(getattr(stub, md.name, None))]
    assert not missing, f"{want} lacks methods {missing}"
    stubs[want] = len(svc.methods)
channel.close()
print(f"polyglot: python: imported {len(mods)} modules; "
      + ", ".join(f"{k}({n} rpcs)" for k, n in stubs.items())
      + f"; grpcio {grpc.__version__}, protobuf {google.protobuf.__version__}")
PY
  PY_RESULT=ok
  log "python done in $(secs "$t" "$(now)")s"
fi

# -------------------------------------------------------------------- go ---
if [[ $DO_GO -eq 1 ]]; then
  t=$(now)
  for b in protoc-gen-go protoc-gen-go-grpc; do
    command -v "$b" >/dev/null 2>&1 || die "go: $b not found on PATH"
  done
  [[ -x "$GO" ]] || die "go: $GO not found"
  [[ -d "$GOCODE/src/google.golang.org/grpc" ]] || die "go: $GOCODE/src/google.golang.org/grpc missing (golang-google-grpc-dev)"
  GP="$WORK/gopath"; mkdir -p "$GP/src"

  # supervisor/v1 keeps its own go_package. The google/rpc copies declare
  # googleapis' go_package (google.golang.org/genproto/...), which Debian's
  # golang-google-genproto-dev already provides and a real Go client would
  # import instead; to still compile our generated copies without shadowing
  # that package, map every file outside supervisor/ under a local prefix.
  M_OPTS=(); GO_PKGS_BUILT=()
  for f in "${PROTOS[@]}"; do
    gp="$(sed -nE 's/^[[:space:]]*option[[:space:]]+go_package[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' "$PROTO_DIR/$f" | head -n1)"
    [[ -n "$gp" ]] || die "go: $f has no go_package option"
    imp="${gp%%;*}"
    if [[ "$f" != supervisor/* ]]; then
      name="${gp#*;}"; [[ "$gp" == *";"* ]] || name="${imp##*/}"
      imp="polyglotcheck/thirdparty/$imp"
      M_OPTS+=("M$f=$imp;$name")
    fi
    [[ " ${GO_PKGS_BUILT[*]-} " == *" $imp "* ]] || GO_PKGS_BUILT+=("$imp")
  done
  go_opt=""; for m in "${M_OPTS[@]-}"; do [[ -n "$m" ]] && go_opt+="${go_opt:+,}$m"; done
  protoc_run --go_out="$GP/src" ${go_opt:+--go_opt="$go_opt"} \
    --go-grpc_out="$GP/src" ${go_opt:+--go-grpc_opt="$go_opt"} \
    || die "go: protoc generation failed"

  SVC_PKG="github.com/supervisor/supervisor/gen/go/supervisor/v1"
  [[ -d "$GP/src/$SVC_PKG" ]] || die "go: expected generated package at $SVC_PKG"
  mkdir -p "$GP/src/polyglotcheck/client"
  cat >"$GP/src/polyglotcheck/client/main.go" <<GOEOF
package main

import (
	"fmt"

	"google.golang.org/grpc"

	supervisorv1 "$SVC_PKG"
)

func main() {
	// Dial is lazy: nothing listens on this port and no RPC is made.
	conn, err := grpc.Dial("127.0.0.1:1", grpc.WithInsecure())
	if err != nil {
		panic(err)
	}
	defer conn.Close()
	var tasks supervisorv1.TaskServiceClient = supervisorv1.NewTaskServiceClient(conn)
	var runners supervisorv1.RunnerServiceClient = supervisorv1.NewRunnerServiceClient(conn)
	fmt.Printf("polyglot: go: clients %T, %T\n", tasks, runners)
}
GOEOF
  # Offline GOPATH build: our temp GOPATH first, then Debian's gocode.
  go_env=(env -u GOFLAGS -u GOROOT GO111MODULE=off GOPROXY=off GOFLAGS= GOTOOLCHAIN=local
          GOPATH="$GP:$GOCODE")
  (cd "$GP/src/polyglotcheck/client" &&
    "${go_env[@]}" "$GO" build "${GO_PKGS_BUILT[@]}" &&
    "${go_env[@]}" "$GO" build -o "$WORK/go-client" polyglotcheck/client &&
    "${go_env[@]}" "$GO" vet "${GO_PKGS_BUILT[@]}" polyglotcheck/client) \
    || die "go: build/vet of generated code failed (see above)"
  "$WORK/go-client" || die "go: client binary failed"
  log "go: built ${GO_PKGS_BUILT[*]} with $("$GO" version | awk '{print $3}')"
  GO_RESULT=ok
  log "go done in $(secs "$t" "$(now)")s"
fi

log "total $(secs "$t0" "$(now)")s (install $(secs "$t0" "$t1")s)"
log "python $PY_RESULT, go $GO_RESULT"
