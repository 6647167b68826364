#!/usr/bin/env bash
# Regenerates tokenize/testdata (fixtures and goldens) on a fresh machine.
# Needs node >= 18 and npm; the npm registry is the only network it uses.
# --ignore-scripts: onnxruntime-node's install script downloads from the network, and tokenizing needs no ORT.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data="${TWEETFLOW_DATA:-$repo/../shared/data}"
cd "$here"
npm install --ignore-scripts --no-audit --no-fund --no-save >/dev/null
node generate.mjs "$data" "$repo/tokenize/testdata"
