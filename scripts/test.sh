#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it: prerequisites, the model,
# formatting, lints, every test (the real-model ones included), the API docs,
# packaging of the publishable crates, and the book.
set -euo pipefail
cd "$(dirname "$0")/.."

# A one-shot run gains nothing from incremental data, which on a clean run
# is several GB beside the build itself; a run out of disk dies in a linker.
export CARGO_INCREMENTAL=0
scripts/disk-check.sh

scripts/setup.sh --book
scripts/fetch-model.sh
# A real llama-server for the server backend's tests, built once into the
# cache (~5 minutes on 2 cores the first time); the tests find it here.
AGENTKIT_LLAMA_SERVER="$(scripts/fetch-llama-server.sh)"
export AGENTKIT_LLAMA_SERVER

echo "[test] cargo fmt --check" >&2
cargo fmt --all -- --check
echo "[test] cargo clippy -D warnings" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "[test] cargo test (the first build compiles llama.cpp: several minutes, about 6.5 on 2 cores)" >&2
cargo test --workspace
echo "[test] cargo doc -D warnings (API docs of every workspace crate)" >&2
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
echo "[test] cargo package (the publishable crates, each built from its package alone; ~7 min the first time)" >&2
# cargo unpacks the packaged crates from a local registry into
# $CARGO_HOME/registry/src/-<hash>/ and reuses an unpacked copy of the same
# version, so a second run on one machine would verify stale sources: drop
# those copies of our own crates first (crates.io's sources are not touched).
# The verify builds land in the same target dir, where cargo takes a
# registry crate of an unchanged version as unchanged and would reuse the
# previous run's build of it: drop the build fingerprints of all our crates
# too (the next run rebuilds them, not their dependencies).
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
for crate in agentkit-manifest agentkit-macros agentkit agentkit-test agentkit-backends; do
  rm -rf "$cargo_home"/registry/src/-*/"$crate"-[0-9]*
done
target_dir=$(cargo metadata --no-deps --format-version 1 | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
rm -rf "${target_dir:-target}"/debug/.fingerprint/agentkit-*
cargo package --allow-dirty -p agentkit-manifest -p agentkit-macros -p agentkit -p agentkit-test -p agentkit-backends
echo "[test] mdbook build book (the user guide; its code is tested above by agentkit-book-tests)" >&2
mdbook build book
