#!/usr/bin/env bash
# Runs the main example end to end on the default local model: installs build
# prerequisites if missing, fetches the model, builds, runs.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
scripts/fetch-model.sh
echo "[run] building (the first build compiles llama.cpp: several minutes, about 6.5 on 2 cores) ..." >&2
cargo build -p agentkit-examples --example forum
exec cargo run -q -p agentkit-examples --example forum -- "$@"
