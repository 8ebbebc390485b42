#!/usr/bin/env bash
# Generates the Python client code for the contract in proto/ into OUT_DIR:
#   OUT_DIR/supervisor/v1/*_pb2.py, *_pb2_grpc.py   (TaskService, RunnerService)
#   OUT_DIR/google/rpc/status_pb2.py, error_details_pb2.py (error details)
# with stock protoc and grpc_python_plugin (Debian: protobuf-compiler,
# libprotobuf-dev, protobuf-compiler-grpc). The well-known types
# (google.protobuf.*) come with the protobuf runtime, so they are not generated.
#
# Usage: bash examples/python/gen.sh OUT_DIR
# Env:   PROTOC (default /usr/bin/protoc), GRPC_PYTHON_PLUGIN (default: on PATH)
set -euo pipefail

[[ $# -eq 1 ]] || { echo "usage: $0 OUT_DIR" >&2; exit 2; }
OUT="$1"
PROTO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../proto" && pwd)"
PROTOC="${PROTOC:-/usr/bin/protoc}"
PLUGIN="${GRPC_PYTHON_PLUGIN:-$(command -v grpc_python_plugin || true)}"

[[ -x "$PROTOC" ]] || { echo "gen.sh: protoc not found at $PROTOC (apt-get install protobuf-compiler libprotobuf-dev)" >&2; exit 1; }
[[ -n "$PLUGIN" ]] || { echo "gen.sh: grpc_python_plugin not found (apt-get install protobuf-compiler-grpc)" >&2; exit 1; }

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
mapfile -t PROTOS < <(cd "$PROTO_DIR" && find . -name '*.proto' -type f | sed 's|^\./||' | LC_ALL=C sort)

# Only -I proto: the well-known types come from protoc's own include path.
(cd "$PROTO_DIR" && "$PROTOC" -I . \
  --python_out="$OUT" \
  --plugin=protoc-gen-grpc_python="$PLUGIN" --grpc_python_out="$OUT" \
  "${PROTOS[@]}")

echo "generated ${#PROTOS[@]} proto files into $OUT"
