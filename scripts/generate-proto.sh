#!/usr/bin/env bash
# Regenerates the committed protobuf code from proto/order.proto:
#   Sources/DeskProto/order.pb.swift        (protoc-gen-swift, pinned swift-protobuf)
#   clients/python/desk_client/order_pb2.py (protoc's python generator)
# Needs Debian's protoc (apt-get install protobuf-compiler). protoc-gen-swift is
# built from the same swift-protobuf version that Package.swift pins.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="$(sed -n 's/.*swift-protobuf.git", exact: "\([0-9.]*\)".*/\1/p' "$root/Package.swift")"
command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }
work="${PROTOC_GEN_SWIFT_WORK:-$root/.build-protoc-gen-swift}"
if [ ! -x "$work/swift-protobuf/.build/release/protoc-gen-swift" ]; then
  rm -rf "$work" && mkdir -p "$work"
  git clone --quiet --branch "$version" https://github.com/apple/swift-protobuf.git "$work/swift-protobuf"
  swift build --package-path "$work/swift-protobuf" -c release --product protoc-gen-swift
fi
plugin="$work/swift-protobuf/.build/release/protoc-gen-swift"
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
  --swift_out="$root/Sources/DeskProto" -I "$root/proto" "$root/proto/order.proto"
mkdir -p "$root/clients/python/desk_client"
protoc --python_out="$root/clients/python/desk_client" -I "$root/proto" "$root/proto/order.proto"
echo "generated with $(protoc --version) and protoc-gen-swift $version"
