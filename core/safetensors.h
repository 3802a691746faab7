// The safetensors format (https://github.com/huggingface/safetensors), read and written.
//
// Layout: an 8-byte little-endian u64 N, then N bytes of JSON header, then the data section.
//   {"__metadata__": {"key": "value", ...},
//    "name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...}
// Offsets are byte offsets into the data section; data is little-endian, row-major (C order).
//
// Reading maps the file and returns tensors that view the mapping (no copy); every field of the
// header is validated first, so a corrupt or truncated file throws recur::Error naming the file
// and the problem rather than crashing. Writing matches the reference writer byte for byte:
// "__metadata__" first (omitted when empty), tensors ordered by dtype (widest first, which keeps
// every tensor aligned) then by name, compact JSON padded with spaces to a multiple of 8 bytes.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "core/tensor.h"

namespace recur {

// The contents of a safetensors file: its tensors and the header's "__metadata__" strings.
struct SafetensorsFile {
  TensorMap tensors;
  std::map<std::string, std::string> metadata;
};

// Maps `path` and parses it. The tensors are contiguous CPU views into the mapping, which stays
// alive while any of them does; writing to one changes this process's copy only, never the file.
// A tensor whose data is misaligned for its dtype (possible only in files whose header length is
// not a multiple of 8) is copied into aligned memory instead.
SafetensorsFile read_safetensors(const std::string& path);

// Parses `size` bytes of safetensors data at `bytes`; the tensors view (and share ownership of)
// `bytes`, except misaligned ones, which are copied. `what` names the source in error messages
// ("safetensors file 'model.safetensors'"). Throws recur::Error on any malformed input.
SafetensorsFile parse_safetensors(std::shared_ptr<std::byte> bytes, size_t size,
                                  const std::string& what);

// Writes `tensors` (any dtype, contiguous or not, on the CPU or a GPU: GPU tensors are copied to
// the host one at a time) and `metadata` to `path`, atomically (core/atomic_file.h): the old file
// survives any failure. Tensors are streamed from their own
// memory; a non-contiguous one is packed first. The bytes depend only on the arguments.
void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace recur
