// recur: the public headers in one include, for programs that link recur::recur.
#pragma once

#include "core/error.h"
#include "core/tensor.h"
#include "kernels/cell.h"
