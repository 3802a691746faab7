// The cuDNN handle of each GPU: one per device, process-wide, created on first use and bound to
// the device's recur stream (core/cuda/context.h), so cuDNN's work is ordered with everything
// else recur queues on that device. Like the CUDA context it lives until the process ends.
#pragma once

#include <cudnn.h>

namespace recur {

// Throws recur::Error when there is no such GPU or cuDNN cannot be initialised on it.
cudnnHandle_t cudnn_handle(int device);

}  // namespace recur
