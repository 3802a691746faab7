#!/usr/bin/env bash
# scripts/prebuilt.sh — sourced by benchmarks/gpu_check.sh and benchmarks/run.sh: runs binaries
# that benchmarks/gpu_prebuild.sh built on another machine (a folder carried to the GPU machine).
#
#   use_prebuilt_libraries DIR
#
# Puts DIR (librecur.so.0 and the libfmt the binaries were linked with) and the machine's CUDA
# library folders (cudart, cuBLAS; cuDNN and OpenBLAS are in the system's) first on
# LD_LIBRARY_PATH: the binaries' own search path names the folders of the machine they were
# built on.
use_prebuilt_libraries() {
  local libs cuda_lib
  libs=$(cd "$1" && pwd)
  for cuda_lib in /usr/local/cuda/lib64 /usr/local/cuda/lib /usr/local/cuda/targets/x86_64-linux/lib; do
    [[ -d $cuda_lib ]] && libs+=":$cuda_lib"
  done
  export LD_LIBRARY_PATH="$libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
}
