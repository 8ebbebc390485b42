#!/usr/bin/env bash
# Installs (apt-get, when missing) the Debian packages the Python and Go SDKs need: to generate their
# stubs (`npm run gen`, `npm run gen:check`) and to run them (test/sdk-conformance.test.ts,
# test/sdk-cross-runner.test.ts). Nothing comes from PyPI or the Go module proxy.
set -euo pipefail

PACKAGES=(
  protobuf-compiler libprotobuf-dev             # protoc 3.21 and the well-known types
  protobuf-compiler-grpc                        # grpc_python_plugin 1.51
  python3 python3-grpcio python3-protobuf       # the Python SDK's runtime
  python3-venv python3-setuptools               # pip install ./sdk-python into a venv, offline
  golang-go protoc-gen-go protoc-gen-go-grpc    # Go 1.19 and the Go generators
  golang-google-protobuf-dev golang-google-grpc-dev golang-google-genproto-dev
)

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for package in "${PACKAGES[@]}"; do installed "$package" || missing+=("$package"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  echo "sdk toolchain: all ${#PACKAGES[@]} packages installed"
  exit 0
fi
as_root=()
[[ $EUID -eq 0 ]] || as_root=(sudo -n)
echo "sdk toolchain: apt-get install ${missing[*]}"
"${as_root[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
