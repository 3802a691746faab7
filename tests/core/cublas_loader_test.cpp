// core/cuda/cublas_loader.cpp: librecur finds cuBLAS on first use, with no GPU needed to load it.
// That librecur does not link libcublas at all is ctest's CublasNotLinked (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <string>

#if RECUR_WITH_CUDA
#include "core/cuda/cublas_loader.h"
#endif

namespace recur {
namespace {

TEST(CublasLoader, FindsCublasOnFirstUseWithoutAGpu) {
#if RECUR_WITH_CUDA
  const std::string& path = cublas_library_path();
  EXPECT_NE(path.find("libcublas.so"), std::string::npos) << path;
  EXPECT_EQ(&cublas_library_path(), &path);  // loaded once
#else
  GTEST_SKIP() << "built without CUDA";
#endif
}

}  // namespace
}  // namespace recur
