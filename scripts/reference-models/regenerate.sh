#!/usr/bin/env bash
# Rebuilds scorer/testdata's test models and their reference probabilities
# (scripts/reference-models/build.py says what each is and where its reference comes from).
# Needs Debian's python3-torch, python3-onnx and python3-sklearn (about 1 GB, about 4 minutes to
# install; installed here when missing and this runs as root); run with /usr/bin/python3, since a
# python3 earlier on PATH may not see Debian's packages. `make test` needs none of this: it uses
# the committed files.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
data="${TWEETFLOW_DATA:-$repo/../shared/data}"
py=/usr/bin/python3
if ! "$py" -c 'import torch, onnx, sklearn' 2>/dev/null; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "regenerate.sh: needs python3-torch python3-onnx python3-sklearn (apt-get install --no-install-recommends ...)" >&2
    exit 1
  fi
  apt-get update >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3-torch python3-onnx python3-sklearn >/dev/null
fi
"$py" "$here/build.py" "$data" "$repo"
