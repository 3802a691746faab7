// safetensors parsing (with validation of every header field) and writing (the reference
// writer's byte layout). Format notes in core/safetensors.h.
#include "core/safetensors.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/allocator.h"
#include "core/atomic_file.h"
#include "core/error.h"
#include "core/mapped_file.h"

namespace recur {

// ASSUMPTION: a little-endian host. safetensors data is little-endian and tensors view it as is.
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
              "safetensors I/O needs a little-endian host");

namespace {

using Json = nlohmann::json;

constexpr char kMetadataKey[] = "__metadata__";
// The reference reader's limit; a larger length means a corrupt file, not a real header.
constexpr uint64_t kMaxHeaderBytes = 100'000'000;
// A valid header nests three deep (header > entry > shape); deeper input is rejected before the
// parser builds it.
constexpr int kMaxHeaderDepth = 8;

// ---------------------------------------------------------------- reading

// One tensor entry of the header, validated.
struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin;
  uint64_t end;
};

Json parse_header_json(const char* text, size_t length, const std::string& what) {
  Json::parser_callback_t limit_depth = [&](int depth, Json::parse_event_t, Json&) {
    RECUR_CHECK(depth <= kMaxHeaderDepth,
                "{}: header is not a safetensors header: expected JSON nested at most {} deep, "
                "got deeper",
                what, kMaxHeaderDepth);
    return true;
  };
  // nlohmann's parser stops at a NUL byte as if the input ended there; valid JSON has none.
  if (const void* nul = std::memchr(text, 0, length))
    RECUR_FAIL("{}: header is not valid JSON ({} bytes): a NUL byte at offset {}", what, length,
               static_cast<const char*>(nul) - text);
  try {
    return Json::parse(text, text + length, limit_depth);
  } catch (const Json::exception& e) {
    RECUR_FAIL("{}: header is not valid JSON ({} bytes): {}", what, length, e.what());
  }
}

// A JSON integer in [0, max]; `field` names it in messages.
uint64_t json_count(const Json& j, uint64_t max, const std::string& what,
                    const std::string& field) {
  RECUR_CHECK(j.is_number_integer(), "{}: {}: expected a non-negative integer, got {} {}", what,
              field, j.type_name(), j.dump());
  uint64_t v;
  if (j.is_number_unsigned()) {
    v = j.get<uint64_t>();
  } else {  // nlohmann keeps integers written with a minus sign (even -0) as signed
    int64_t s = j.get<int64_t>();
    RECUR_CHECK(s >= 0, "{}: {}: expected a non-negative integer, got {}", what, field, s);
    v = static_cast<uint64_t>(s);
  }
  RECUR_CHECK(v <= max, "{}: {}: expected at most {}, got {}", what, field, max, v);
  return v;
}

Entry parse_entry(const std::string& name, const Json& j, uint64_t data_size,
                  const std::string& what) {
  std::string where = fmt::format("tensor '{}'", name);
  RECUR_CHECK(j.is_object(),
              "{}: {}: expected an object {{\"dtype\", \"shape\", \"data_offsets\"}}, got {}", what,
              where, j.type_name());
  for (const char* key : {"dtype", "shape", "data_offsets"})
    RECUR_CHECK(j.contains(key), "{}: {}: missing \"{}\" (expected dtype, shape, data_offsets)",
                what, where, key);

  Entry e;
  e.name = name;
  const Json& dtype = j["dtype"];
  RECUR_CHECK(dtype.is_string(), "{}: {}: \"dtype\": expected a string, got {}", what, where,
              dtype.type_name());
  try {
    e.dtype = dtype_from_safetensors_name(dtype.get<std::string>());
  } catch (const Error& err) {
    RECUR_FAIL("{}: {}: {}", what, where, err.what());
  }

  const Json& shape = j["shape"];
  RECUR_CHECK(shape.is_array(), "{}: {}: \"shape\": expected an array of sizes, got {}", what,
              where, shape.type_name());
  for (size_t i = 0; i < shape.size(); ++i) {
    uint64_t d = json_count(shape[i], std::numeric_limits<int64_t>::max(), what,
                            fmt::format("{}: \"shape\"[{}]", where, i));
    e.shape.push_back(static_cast<int64_t>(d));
  }

  const Json& offsets = j["data_offsets"];
  RECUR_CHECK(offsets.is_array() && offsets.size() == 2,
              "{}: {}: \"data_offsets\": expected [begin, end], got {}", what, where,
              offsets.dump());
  e.begin = json_count(offsets[0], std::numeric_limits<uint64_t>::max(), what,
                       where + ": \"data_offsets\"[0]");
  e.end = json_count(offsets[1], std::numeric_limits<uint64_t>::max(), what,
                     where + ": \"data_offsets\"[1]");
  RECUR_CHECK(e.begin <= e.end, "{}: {}: data_offsets [{}, {}]: expected begin <= end", what, where,
              e.begin, e.end);
  RECUR_CHECK(e.end <= data_size,
              "{}: {}: data_offsets [{}, {}] run past the end of the data section ({} bytes)", what,
              where, e.begin, e.end, data_size);

  // Byte size of the shape, without overflow: any zero dimension makes it empty; otherwise the
  // running product only grows, so it can be checked against the limit at every step.
  uint64_t element_bytes = dtype_size(e.dtype);
  uint64_t limit = static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) / element_bytes;
  bool empty = std::find(e.shape.begin(), e.shape.end(), 0) != e.shape.end();
  uint64_t numel = empty ? 0 : 1;
  for (int64_t d : e.shape) {
    if (empty) break;
    RECUR_CHECK(numel <= limit / static_cast<uint64_t>(d),
                "{}: {}: shape {} is too large to address", what, where, shape_str(e.shape));
    numel *= static_cast<uint64_t>(d);
  }
  uint64_t nbytes = numel * element_bytes;
  RECUR_CHECK(e.end - e.begin == nbytes,
              "{}: {}: expected {} bytes for shape {} of {}, got data_offsets [{}, {}] ({} bytes)",
              what, where, nbytes, shape_str(e.shape), safetensors_dtype_name(e.dtype), e.begin,
              e.end, e.end - e.begin);
  return e;
}

std::map<std::string, std::string> parse_metadata(const Json& j, const std::string& what) {
  std::map<std::string, std::string> metadata;
  if (j.is_null()) return metadata;  // the reference reader treats null as "no metadata"
  RECUR_CHECK(j.is_object(), "{}: \"{}\": expected an object of strings, got {}", what,
              kMetadataKey, j.type_name());
  for (const auto& [key, value] : j.items()) {
    RECUR_CHECK(value.is_string(), "{}: \"{}\"[\"{}\"]: expected a string, got {} {}", what,
                kMetadataKey, key, value.type_name(), value.dump());
    metadata[key] = value.get<std::string>();
  }
  return metadata;
}

// Rejects tensors whose byte ranges share a byte (empty tensors share none). Gaps are allowed.
void check_no_overlap(std::vector<const Entry*> entries, const std::string& what) {
  entries.erase(std::remove_if(entries.begin(), entries.end(),
                               [](const Entry* e) { return e->begin == e->end; }),
                entries.end());
  std::sort(entries.begin(), entries.end(),
            [](const Entry* a, const Entry* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < entries.size(); ++i) {
    const Entry& a = *entries[i - 1];
    const Entry& b = *entries[i];
    RECUR_CHECK(a.end <= b.begin,
                "{}: tensors '{}' (data_offsets [{}, {}]) and '{}' ([{}, {}]) overlap: expected "
                "disjoint byte ranges",
                what, a.name, a.begin, a.end, b.name, b.begin, b.end);
  }
}

}  // namespace

SafetensorsFile parse_safetensors(std::shared_ptr<std::byte> bytes, size_t size,
                                  const std::string& what) {
  RECUR_CHECK(bytes != nullptr || size == 0, "{}: null buffer of {} bytes", what, size);
  RECUR_CHECK(size >= 8,
              "{}: not a safetensors file: expected at least 8 bytes (the header length), got {}",
              what, size);
  const std::byte* p = bytes.get();
  uint64_t header_bytes = 0;
  for (int i = 0; i < 8; ++i) header_bytes |= static_cast<uint64_t>(p[i]) << (8 * i);
  RECUR_CHECK(header_bytes <= kMaxHeaderBytes,
              "{}: header length {} is past the {}-byte limit (a corrupt or non-safetensors file)",
              what, header_bytes, kMaxHeaderBytes);
  RECUR_CHECK(header_bytes <= size - 8,
              "{}: header length {} runs past the end of the file ({} bytes; expected at most {})",
              what, header_bytes, size, size - 8);
  const size_t data_start = 8 + static_cast<size_t>(header_bytes);
  const uint64_t data_size = size - data_start;

  Json header = parse_header_json(reinterpret_cast<const char*>(p + 8),
                                  static_cast<size_t>(header_bytes), what);
  RECUR_CHECK(header.is_object(), "{}: header: expected a JSON object, got {}", what,
              header.type_name());

  SafetensorsFile file;
  std::vector<Entry> entries;
  entries.reserve(header.size());
  for (const auto& [name, value] : header.items()) {
    if (name == kMetadataKey)
      file.metadata = parse_metadata(value, what);
    else
      entries.push_back(parse_entry(name, value, data_size, what));
  }
  std::vector<const Entry*> views;
  for (const Entry& e : entries) views.push_back(&e);
  check_no_overlap(views, what);

  for (const Entry& e : entries) {
    std::byte* data = bytes.get() + data_start + e.begin;
    size_t nbytes = static_cast<size_t>(e.end - e.begin);
    std::shared_ptr<std::byte> owner;
    if (reinterpret_cast<uintptr_t>(data) % dtype_size(e.dtype) == 0) {
      owner = std::shared_ptr<std::byte>(bytes, data);  // a view that keeps `bytes` alive
    } else {
      owner = allocate_cpu(nbytes);  // misaligned for the dtype: copy into aligned memory
      if (nbytes > 0) std::memcpy(owner.get(), data, nbytes);
    }
    file.tensors.emplace(e.name, Tensor::from_blob(std::move(owner), e.shape, e.dtype));
  }
  return file;
}

SafetensorsFile read_safetensors(const std::string& path) {
  auto mapping = std::make_shared<MappedFile>(path);
  std::shared_ptr<std::byte> bytes(mapping, mapping->data());
  return parse_safetensors(std::move(bytes), mapping->size(),
                           fmt::format("safetensors file '{}'", path));
}

// ---------------------------------------------------------------- writing

namespace {

// The reference writer orders tensors by its dtype enum, widest first; these are the enum's
// positions for recur's dtypes (I64 > F64 > F32 > I32 > BF16 > F16 > U8). Widest-first keeps
// every tensor aligned when the header length is a multiple of 8.
int reference_dtype_rank(DType dtype) {
  switch (dtype) {
    case DType::u8:
      return 1;
    case DType::f16:
      return 7;
    case DType::bf16:
      return 8;
    case DType::i32:
      return 9;
    case DType::f32:
      return 11;
    case DType::f64:
      return 12;
    case DType::i64:
      return 13;
  }
  return 0;
}

// A JSON string literal for `s`, escaped as the reference writer (serde_json) does.
std::string json_string(const std::string& s, const std::string& path, const char* what) {
  try {
    return Json(s).dump();
  } catch (const Json::exception& e) {
    RECUR_FAIL("cannot write safetensors file '{}': {} '{}' is not valid UTF-8 ({})", path, what, s,
               e.what());
  }
}

}  // namespace

void write_safetensors(const std::string& path, const TensorMap& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<std::pair<const std::string*, const Tensor*>> order;
  for (const auto& [name, t] : tensors) {
    RECUR_CHECK(name != kMetadataKey,
                "cannot write safetensors file '{}': the tensor name '{}' is reserved for metadata",
                path, name);
    RECUR_CHECK(t.defined(), "cannot write safetensors file '{}': tensor '{}' is undefined", path,
                name);
    order.emplace_back(&name, &t);
  }
  // Stable sort over names already in order: ties in rank stay sorted by name.
  std::stable_sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return reference_dtype_rank(a.second->dtype()) > reference_dtype_rank(b.second->dtype());
  });

  std::string header = "{";
  if (!metadata.empty()) {
    header += fmt::format("\"{}\":{{", kMetadataKey);
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ",";
      first = false;
      header +=
          json_string(key, path, "metadata key") + ":" + json_string(value, path, "metadata value");
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : order) {
    if (header.size() > 1) header += ",";
    std::string dims;
    for (size_t i = 0; i < t->shape().size(); ++i)
      dims += (i ? "," : "") + std::to_string(t->shape()[i]);
    header += fmt::format("{}:{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
                          json_string(*name, path, "tensor name"),
                          safetensors_dtype_name(t->dtype()), dims, offset, offset + t->nbytes());
    offset += t->nbytes();
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');

  write_file_atomic(path, [&](AtomicFileWriter& out) {
    unsigned char length[8];
    for (int i = 0; i < 8; ++i) length[i] = static_cast<unsigned char>(header.size() >> (8 * i));
    out.write(length, sizeof length);
    out.write(header);
    for (const auto& entry : order) {
      // A copy only when not contiguous; GPU tensors come to the host by an explicit copy.
      Tensor packed = entry.second->device().is_cpu() ? entry.second->contiguous()
                                                      : entry.second->to(Device::cpu());
      if (packed.nbytes() > 0) out.write(packed.raw_data(), packed.nbytes());
    }
  });
}

}  // namespace recur
