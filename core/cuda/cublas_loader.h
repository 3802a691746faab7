// cuBLAS is loaded on first use, not linked (core/cuda/cublas_loader.cpp). Built with CUDA only.
#pragma once

#include <string>

namespace recur {

// The file of the cuBLAS library recur calls, loading it now if no cuBLAS call has yet; throws
// recur::Error naming the library when it cannot be loaded. Needs no GPU.
const std::string& cublas_library_path();

}  // namespace recur
