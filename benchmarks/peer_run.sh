# shellcheck shell=bash
# benchmarks/peer_run.sh — sourced by the *_vs_*.sh scripts, from the repository root: sets
#   RECUR  the recur program: $RECUR_BIN, else build/default's, built first (to stderr)
#   tmp    a scratch folder, removed on exit
#   stamp  <host>-<UTC date>-<commit>, the name of this run's record in benchmarks/results
RECUR="${RECUR_BIN:-build/default/apps/recur/recur}"
if [[ -z "${RECUR_BIN:-}" ]]; then
  {
    cmake --preset default
    cmake --build --preset default -j"$(nproc)" --target apps/recur/recur
  } >&2
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
stamp="$(hostname)-$(date -u +%Y%m%d-%H%M)-$(git rev-parse --short HEAD)"
mkdir -p benchmarks/results
