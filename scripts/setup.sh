#!/usr/bin/env bash
# Installs what building llama.cpp (inside the llama-cpp-2 crate) needs and a
# fresh machine may lack: cmake, a C/C++ compiler, and libclang with clang's
# builtin headers (for bindgen). Safe to run again.
#
#   scripts/setup.sh           install what is missing
#   scripts/setup.sh --book    also install mdbook (for building the book)
#   scripts/setup.sh --check   only print the missing Debian packages, one line,
#                              space-separated (empty when nothing is missing)
#
# AGENTKIT_PREREQ_ROOT=<dir> makes detection look inside <dir> instead of `/`
# (commands in <dir>/usr/bin etc., not on PATH): the test suite uses it to run
# the detection against fake roots, so its verdict does not depend on whatever
# the machine running the tests happens to hold.
set -euo pipefail

say() { echo "[setup] $*" >&2; }

root="${AGENTKIT_PREREQ_ROOT:-}"

# A command, looked up on PATH, or under the fake root when one is given.
have_command() {
  if [ -z "$root" ]; then
    command -v "$1" >/dev/null 2>&1
    return
  fi
  local dir
  for dir in usr/local/bin usr/bin bin; do
    [ -x "$root/$dir/$1" ] && return 0
  done
  return 1
}

# bindgen (through clang-sys) loads libclang itself: `libclang.so`,
# `libclang.so.N`, `libclang-N.so` or `libclang-N.so.M`. It never takes
# `libclang-cpp.so*` (the C++ API library many packages pull in), so a plain
# `libclang*` glob would wrongly count that one.
is_libclang() {
  local name="${1##*/}"
  case "$name" in
    libclang-cpp*) return 1 ;;
    libclang.so | libclang.so.*) return 0 ;;
    libclang-[0-9]*.so | libclang-[0-9]*.so.*) return 0 ;;
  esac
  return 1
}

# The directories clang-sys searches on Linux (plus every multiarch one).
libclang_dirs() {
  local d
  for d in "$root"/usr/lib "$root"/usr/lib64 "$root"/usr/local/lib "$root"/lib "$root"/lib64 \
    "$root"/usr/lib/*-linux-gnu "$root"/lib/*-linux-gnu "$root"/usr/lib/llvm-*/lib \
    "$root"/usr/local/llvm*/lib; do
    [ -d "$d" ] && echo "$d"
  done
  return 0
}

have_libclang() {
  # A user who points bindgen at a libclang of their own (e.g. from pip) knows best.
  if [ -n "${LIBCLANG_PATH:-}" ]; then
    local f
    for f in "$LIBCLANG_PATH"/* "$LIBCLANG_PATH"; do
      [ -e "$f" ] && is_libclang "$f" && return 0
    done
    say "LIBCLANG_PATH=$LIBCLANG_PATH holds no libclang.so*; ignoring it"
  fi
  local dir f
  while read -r dir; do
    for f in "$dir"/libclang*.so*; do
      [ -e "$f" ] && is_libclang "$f" && return 0
    done
  done < <(libclang_dirs)
  return 1
}

# clang's own headers (stddef.h, stdbool.h): without them bindgen fails on
# llama.cpp's headers even when libclang loads. Debian ships them in
# libclang-common-N-dev, which libclang-dev pulls in.
have_clang_headers() {
  [ -n "${LIBCLANG_PATH:-}" ] && return 0
  compgen -G "$root/usr/lib/llvm-*/lib/clang/*/include/stdbool.h" >/dev/null && return 0
  compgen -G "$root/usr/lib/clang/*/include/stdbool.h" >/dev/null && return 0
  compgen -G "$root/usr/lib64/clang/*/include/stdbool.h" >/dev/null && return 0
  compgen -G "$root/usr/local/lib/clang/*/include/stdbool.h" >/dev/null
}

missing_packages() {
  local missing=()
  have_command cmake || missing+=(cmake)
  if ! have_libclang || ! have_clang_headers; then missing+=(libclang-dev); fi
  if ! have_command cc || ! have_command c++ || ! have_command make; then missing+=(build-essential); fi
  echo "${missing[*]}"
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

manual_instructions() {
  say "install them yourself, then run this again:"
  say "  Debian/Ubuntu: sudo apt-get install --no-install-recommends $*"
  say "  Fedora:        sudo dnf install cmake clang-devel gcc gcc-c++ make"
  say "  Arch:          sudo pacman -S cmake clang base-devel"
  say "  macOS:         xcode-select --install && brew install cmake"
  say "  without root:  pip install cmake libclang, then"
  say "                 export LIBCLANG_PATH=<site-packages>/clang/native"
  say "                 export BINDGEN_EXTRA_CLANG_ARGS=\"-I\$(dirname \$(gcc -print-libgcc-file-name))/include\""
}

mode="${1:-}"
case "$mode" in
  "" | --book | --check) ;;
  *) say "unknown option '$mode'; use --book, --check or nothing"; exit 2 ;;
esac

missing=$(missing_packages)
if [ "$mode" = "--check" ]; then
  echo "$missing"
  exit 0
fi

if [ -z "$missing" ]; then
  say "build prerequisites present (cmake, libclang and its headers, a C/C++ compiler)"
  [ "$mode" = "--book" ] && install_mdbook
  exit 0
fi

read -r -a packages <<<"$missing"
say "missing: ${packages[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo="sudo"
  else
    sudo="none"
  fi
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$sudo" = "none" ]; then
  if command -v apt-get >/dev/null 2>&1; then
    say "apt-get is here but this user cannot run it as root (no passwordless sudo)"
  else
    say "no apt-get on this machine"
  fi
  manual_instructions "${packages[@]}"
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
say "installing with apt-get: ${packages[*]}"
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >&2

still=$(missing_packages)
if [ -n "$still" ]; then
  say "after installing, still missing: $still"
  manual_instructions "$still"
  exit 1
fi
say "installed ${packages[*]}"

[ "$mode" = "--book" ] && install_mdbook
exit 0
