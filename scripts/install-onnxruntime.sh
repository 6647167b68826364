#!/usr/bin/env bash
# Installs the pinned ONNX Runtime shared library into a project-local folder
# (lib/onnxruntime/), where bin/tweetflow and the tests find it by themselves.
# The Go module github.com/yalue/onnxruntime_go ships no Linux x86-64 library;
# the npm package onnxruntime-node does, and npm is reachable from every
# machine this project runs on. Both the tarball and the library are checked
# against pinned sha256 sums, so a changed upstream artifact fails loudly.
set -euo pipefail

VERSION=1.24.1
TGZ_SHA256=57181cf6e6e711b155c5b942d591fd63ded0b5de5c4922d51fd994e7f6ac2772
LIB_SHA256=53ef1ac028dd1b05554b8da28d9159eb3876f99868193d2aaa6e67f0243c23d4

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/lib/onnxruntime"
lib="$dest/libonnxruntime.so.$VERSION"

if [ -f "$lib" ] && echo "$LIB_SHA256  $lib" | sha256sum -c --status; then
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) arch=x64 ;;
  Linux-aarch64) arch=arm64; LIB_SHA256="" ;;
  *) echo "install-onnxruntime: unsupported platform $(uname -s)-$(uname -m); set ONNXRUNTIME_LIB to a libonnxruntime >= $VERSION" >&2; exit 1 ;;
esac

command -v npm >/dev/null || { echo "install-onnxruntime: npm is needed to fetch onnxruntime-node@$VERSION (apt-get install npm)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "install-onnxruntime: fetching onnxruntime-node@$VERSION (about 86 MB)" >&2
(cd "$tmp" && npm pack --silent "onnxruntime-node@$VERSION" >/dev/null)
tgz="$tmp/onnxruntime-node-$VERSION.tgz"
echo "$TGZ_SHA256  $tgz" | sha256sum -c --status || { echo "install-onnxruntime: sha256 mismatch for $tgz" >&2; exit 1; }
tar -xzf "$tgz" -C "$tmp" "package/bin/napi-v6/linux/$arch/libonnxruntime.so.1"
mkdir -p "$dest"
cp "$tmp/package/bin/napi-v6/linux/$arch/libonnxruntime.so.1" "$lib.tmp"
if [ -n "$LIB_SHA256" ]; then
  echo "$LIB_SHA256  $lib.tmp" | sha256sum -c --status || { echo "install-onnxruntime: sha256 mismatch for the library" >&2; rm -f "$lib.tmp"; exit 1; }
fi
mv "$lib.tmp" "$lib"
ln -sf "libonnxruntime.so.$VERSION" "$dest/libonnxruntime.so"
echo "install-onnxruntime: installed $lib" >&2
