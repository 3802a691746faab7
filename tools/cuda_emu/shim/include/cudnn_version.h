// Fake cuDNN version header for the CPU emulation (tools/cuda_emu/README.md): the fake cuDNN
// (shim/emu_cudnn*.cpp) implements the cuDNN 9 RNN API as documented for 9.14.
#pragma once
#define CUDNN_MAJOR 9
#define CUDNN_MINOR 14
#define CUDNN_PATCHLEVEL 0
#define CUDNN_VERSION (CUDNN_MAJOR * 10000 + CUDNN_MINOR * 100 + CUDNN_PATCHLEVEL)
