#!/usr/bin/env bash
# Says, before a long build, whether the disk under the target dir has room
# for the whole suite, so that a run that later dies in a linker with "No
# space left on device" was announced at its start with the fix.
# Warns only: a target dir that already holds a build needs far less.
set -euo pipefail
cd "$(dirname "$0")/.."

# A clean `scripts/test.sh` run, measured on 2026-12-06 (a fresh clone and
# target dir, 2 cores, 28 minutes with the model and llama-server cached):
# the target dir grew to 8.2 GB; the model and the llama-server build take
# under 1 GB more. Room to spare on top.
need_gb=${AGENTKIT_DISK_NEED_GB:-10}

target=${CARGO_TARGET_DIR:-target}
probe=$target
while [ ! -e "$probe" ]; do
  probe=$(dirname "$probe")
done
free_kb=$(df -Pk "$probe" 2>/dev/null | awk 'NR == 2 { print $4 }') || free_kb=""
case "$free_kb" in
  '' | *[!0-9]*)
    echo "[disk] could not read the free space under $target (df); going on" >&2
    exit 0
    ;;
esac
free_gb=$((free_kb / 1024 / 1024))
echo "[disk] ${free_gb} GB free under $target (a clean run needs about ${need_gb} GB)" >&2
if [ "$free_gb" -lt "$need_gb" ]; then
  if [ -d "$target/debug" ]; then
    echo "[disk] warning: less than a clean run needs; $target already holds a build, so this may still fit" >&2
  else
    echo "[disk] warning: a clean run will likely stop with 'No space left on device';" >&2
    echo "[disk]   free space there, or point CARGO_TARGET_DIR at a disk with ${need_gb} GB free" >&2
  fi
fi
