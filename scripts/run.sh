#!/usr/bin/env bash
# scripts/run.sh — set up, build and run the recur command's demo, from a fresh clone:
#
#   bash scripts/run.sh [demo options...]
#
# Checks the Debian packages (scripts/deps.sh: installs the missing ones when root, otherwise
# prints the apt-get line and exits 1), configures the `default` preset, builds the recur command
# (build/default/apps/recur/recur) and runs `recur demo "$@"`. Set-up output goes to stderr, so
# stdout carries only the demo's own output.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/deps.sh
source scripts/deps.sh

BUILD_DIR=build/default
APP_PATH=apps/recur/recur  # relative to BUILD_DIR

{
  echo "==================== [deps]"
  recur_deps
  echo "==================== [build] preset default, $BUILD_DIR/$APP_PATH"
  cmake --preset default
  # Build the command by its output path (a Ninja target), whatever its CMake target is named;
  # the library is the CMake target `recur`.
  if ! cmake --build --preset default -j"$(nproc)" --target "$APP_PATH"; then
    echo "run.sh: building $BUILD_DIR/$APP_PATH failed (is apps/recur in this checkout?)"
    exit 1
  fi
  echo "==================== [run] $BUILD_DIR/$APP_PATH demo $*"
} >&2

exec "$BUILD_DIR/$APP_PATH" demo "$@"
