#!/usr/bin/env bash
# With --book, also installs mdbook (for building the book).
#
# Installs what building llama.cpp (inside the llama-cpp-2 crate) needs and a
# fresh machine may lack: cmake and libclang (for bindgen). Safe to run again.
set -euo pipefail

say() { echo "[setup] $*" >&2; }

have_libclang() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so' && return 0
  compgen -G '/usr/lib/llvm-*/lib/libclang*.so*' >/dev/null && return 0
  compgen -G '/usr/lib/x86_64-linux-gnu/libclang*.so*' >/dev/null
}

# mdBook builds the user guide (book/); scripts/test.sh runs `mdbook build book`.
# Debian 12 has no mdbook package, so it is built from crates.io once (~4 min on
# 2 cores) with only the features `mdbook build` needs. Skipped when present.
# Runs last: linking it needs the C compiler installed below.
MDBOOK_VERSION="0.5.4"
install_mdbook() {
  if mdbook --version 2>/dev/null | grep -q "v${MDBOOK_VERSION}"; then
    say "mdbook ${MDBOOK_VERSION} present"
  else
    say "installing mdbook ${MDBOOK_VERSION} with cargo (about 4 minutes on 2 cores) ..."
    cargo install mdbook --locked --version "$MDBOOK_VERSION" --no-default-features --features search >&2
  fi
}

missing=()
command -v cmake >/dev/null 2>&1 || missing+=(cmake)
have_libclang || missing+=(libclang-dev)
command -v cc >/dev/null 2>&1 || missing+=(build-essential)

if [ ${#missing[@]} -eq 0 ]; then
  say "build prerequisites present (cmake, libclang, a C compiler)"
  [ "${1:-}" = "--book" ] && install_mdbook
  exit 0
fi

say "installing: ${missing[*]}"
if command -v apt-get >/dev/null 2>&1; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  say "installed ${missing[*]}"
else
  say "no apt-get here: install ${missing[*]} with your package manager"
  say "(or: pip install cmake libclang, then set LIBCLANG_PATH to <site-packages>/clang/native)"
  exit 1
fi

[ "${1:-}" = "--book" ] && install_mdbook
exit 0
