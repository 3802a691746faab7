// The few functions of the emulation's runtime that the fake cuDNN (emu_cudnn*.cpp) uses: its
// checks of device pointers (emu_memory.cpp) and streams (emu_runtime.cpp). Device memory itself is
// reached through cudaMemcpyAsync.
#pragma once
#include <cstddef>

#include "cuda_runtime.h"

namespace emu {
// [p, p+bytes) lies in one live device allocation (want_device) or outside the arena; reports
// ("[emu] what: ...") and returns false otherwise.
bool check_range(const void* p, size_t bytes, bool want_device, const char* what);
// s is the legacy stream (nullptr) or a live stream; reports ("[emu] what on stream ...")
// otherwise.
bool stream_ok(cudaStream_t s, const char* what);
bool in_arena(const void* p);
}  // namespace emu
