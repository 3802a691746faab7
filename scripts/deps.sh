# shellcheck shell=bash
# scripts/deps.sh — sourced by scripts/*.sh: the Debian 12 packages recur needs, and functions that
# install the missing ones (as root) or print the exact install command (otherwise).
#
#   source scripts/deps.sh
#   recur_deps         # build + test packages; installs or exits 1 when something is missing
#   recur_bench_deps   # optional CPU peer-benchmark extras (torch, numpy); returns 1 when missing
#
# The fast path (everything installed) runs no apt-get at all.

# Build and test: compilers, CMake + Ninja, the libraries in DESIGN.md, the format check's
# clang-format, git (file lists), python3 (tools) with what their tests import.
RECUR_DEB_PACKAGES=(
  build-essential
  cmake
  ninja-build
  g++
  pkg-config
  libopenblas-pthread-dev
  nlohmann-json3-dev
  libcli11-dev
  libfmt-dev
  libgtest-dev
  libgmock-dev
  libbenchmark-dev
  clang-format
  git
  python3
  python3-statsmodels  # python_tools' tests: the ARIMA peer of `recur forecast`, its series
  python3-matplotlib   # python_tools' tests: the plots
)

# Optional: the CPU peer (PyTorch) in the benchmarks. Not needed by the tests.
RECUR_BENCH_DEB_PACKAGES=(
  python3-torch
  python3-numpy
)

# Prints, one per line, those of the given packages that are not installed.
recur_missing_packages() {
  local pkg status
  for pkg in "$@"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    if [[ "$status" != "install ok installed" ]]; then
      printf '%s\n' "$pkg"
    fi
  done
}

# Makes sure the given packages are installed. Returns 0 when they are (installing the missing
# ones first when running as root); otherwise prints the command to run and returns 1.
recur_ensure_packages() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found (not Debian?); cannot check packages, assuming these are" \
      "installed: $*" >&2
    return 0
  fi
  local missing=()
  mapfile -t missing < <(recur_missing_packages "$@")
  if ((${#missing[@]} == 0)); then
    echo "deps: all ${#} packages installed"
    return 0
  fi
  if [[ "$(id -u)" -eq 0 ]]; then
    echo "deps: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
    return
  fi
  {
    echo "deps: missing Debian packages: ${missing[*]}"
    echo "deps: install them with:"
    echo "  sudo apt-get install -y ${missing[*]}"
  } >&2
  return 1
}

# Build and test dependencies. Exits the calling script with status 1 when something is missing
# and we are not root.
recur_deps() {
  recur_ensure_packages "${RECUR_DEB_PACKAGES[@]}" || exit 1
}

# Optional benchmark extras; returns 1 (does not exit) when they are missing and we are not root,
# so a benchmark script can choose to run without its PyTorch peer.
recur_bench_deps() {
  recur_ensure_packages "${RECUR_BENCH_DEB_PACKAGES[@]}"
}
