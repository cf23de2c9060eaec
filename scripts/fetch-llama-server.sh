#!/usr/bin/env bash
# Builds llama.cpp's OpenAI-compatible server, `llama-server`, once into the
# agentkit cache, for the tests and benchmarks of the `server` backend. Safe to
# run again: an installed binary that runs is left alone. Prints the binary's
# path on stdout (everything else goes to stderr).
#
# No prebuilt llama-server is installable here, and the llama.cpp sources
# vendored by the llama-cpp-sys-2 crate lack `tools/server`; the source
# distribution of llama-cpp-python on PyPI vendors the full tree, so this needs
# only pip, cmake and a C++ compiler. About 5 minutes on 2 cores.
# Directory: $AGENTKIT_LLAMA_SERVER_DIR, else $XDG_CACHE_HOME/agentkit/llama-server/<version>,
# else ~/.cache/agentkit/llama-server/<version>.
set -euo pipefail

VERSION="0.3.36"
PACKAGE="llama-cpp-python==$VERSION"

if [ "$(uname -s)" = Darwin ]; then cache="$HOME/Library/Caches"; else cache="${XDG_CACHE_HOME:-$HOME/.cache}"; fi
dir="${AGENTKIT_LLAMA_SERVER_DIR:-$cache/agentkit/llama-server/$VERSION}"
target="$dir/bin/llama-server"

say() { echo "[fetch-llama-server] $*" >&2; }

if [ -x "$target" ] && "$target" --version >/dev/null 2>&1; then
  say "llama-server already built in $dir"
  echo "$target"
  exit 0
fi

python=$(command -v python3 || command -v python || true)
[ -n "$python" ] || { say "python3 with pip is needed to fetch the llama.cpp sources; install it and run again"; exit 1; }
command -v cmake >/dev/null || { say "cmake is needed to build llama-server (scripts/setup.sh installs it)"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

say "downloading the $PACKAGE source distribution (about 76 MB) with pip ..."
# Only this package as source: with `:all:`, pip also builds the tools it needs
# to read the sdist's metadata from source (about 2 minutes instead of 12 s).
"$python" -m pip download --no-deps --no-binary llama-cpp-python --progress-bar off -d "$work" "$PACKAGE" >&2
tar -xzf "$work"/llama_cpp_python-*.tar.gz -C "$work"
src=$(ls -d "$work"/llama_cpp_python-*/vendor/llama.cpp)
[ -d "$src/tools/server" ] || { say "the source distribution has no tools/server; cannot build llama-server"; exit 1; }

jobs=$(nproc 2>/dev/null || echo 2)
say "building llama-server with $jobs jobs (about 5 minutes on 2 cores) ..."
# Native code for the machine that builds it (llama.cpp's default), as the
# in-process backend is built; a cached binary moved to an older CPU would
# need a rebuild (delete the directory). No libcurl: models are local files.
cmake -S "$src" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DLLAMA_CURL=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DBUILD_SHARED_LIBS=OFF >&2
cmake --build "$work/build" --target llama-server -j "$jobs" >&2

mkdir -p "$dir/bin"
cp "$work/build/bin/llama-server" "$target.tmp"
mv "$target.tmp" "$target"
"$target" --version >&2 2>&1 || { say "the built llama-server does not run"; exit 1; }
say "installed $target"
echo "$target"
