// Tests for safetensors I/O and the files under it: round trips of every dtype, byte-exact
// agreement with the reference writer, rejection of every kind of corrupt or truncated file
// (recur::Error, never a crash), atomic replacement and memory-mapped reading.
#include "core/safetensors.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/atomic_file.h"
#include "core/mapped_file.h"
#include "support/expect_error.h"
#include "support/scratch_dir.h"

namespace recur {
namespace {

using ::recur::testing::expect_error;

namespace fs = std::filesystem;
using testing::ScratchDir;
using Bytes = std::vector<uint8_t>;

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

Bytes as_bytes(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

// 8-byte little-endian length, then `header` as is (no padding), then `data`.
Bytes make_file(const std::string& header, const Bytes& data = {}) {
  Bytes out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<uint8_t>(header.size() >> (8 * i)));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

// A heap copy of exactly bytes.size() bytes (so AddressSanitizer sees any read past the end),
// starting `shift` bytes into the allocation to misalign it on purpose.
std::shared_ptr<std::byte> exact_copy(const Bytes& bytes, size_t shift = 0) {
  auto* block = new std::byte[bytes.size() + shift];
  if (!bytes.empty()) std::memcpy(block + shift, bytes.data(), bytes.size());
  std::shared_ptr<std::byte> owner(block, std::default_delete<std::byte[]>());
  return std::shared_ptr<std::byte>(owner, block + shift);
}

SafetensorsFile parse(const Bytes& bytes, size_t shift = 0) {
  return parse_safetensors(exact_copy(bytes, shift), bytes.size(), "test buffer");
}

void expect_parse_error(const std::string& header, const Bytes& data,
                        std::initializer_list<std::string> fragments) {
  SCOPED_TRACE(header);
  expect_error([&] { parse(make_file(header, data)); }, fragments);
}

Bytes raw_bytes(const Tensor& t) {
  Tensor c = t.contiguous();
  const auto* p = static_cast<const uint8_t*>(c.raw_data());
  return Bytes(p, p + c.nbytes());
}

// A tensor of `shape` and `dtype` whose elements are distinct small numbers (offset by `seed`).
Tensor pattern(const Shape& shape, DType dtype, int seed = 0) {
  Tensor t = Tensor::empty(shape, dtype);
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<double>((i * 7 + seed) % 100) - 20.0;
  if (dtype == DType::u8)
    for (double& x : v) x += 20.0;
  if (!v.empty()) t.copy_from(Tensor::from_vector(v, shape));
  return t;
}

// ---------------------------------------------------------------- round trips

TEST(Safetensors, RoundTripsEveryDtypeIncludingEmptyScalarAndStridedTensors) {
  ScratchDir dir("recur_safetensors");
  TensorMap tensors;
  tensors["f32"] = pattern({2, 3}, DType::f32);
  tensors["f64"] = pattern({3}, DType::f64, 1);
  tensors["bf16"] = pattern({5}, DType::bf16, 2);
  tensors["f16"] = pattern({1, 3}, DType::f16, 3);
  tensors["i32"] = pattern({4}, DType::i32, 4);
  tensors["i64"] = pattern({2, 1}, DType::i64, 5);
  tensors["u8"] = pattern({7}, DType::u8, 6);  // odd byte count: later tensors must stay aligned
  tensors["empty"] = Tensor::empty({0, 3}, DType::f32);
  tensors["scalar"] = Tensor::full({}, 2.5, DType::f64);
  Tensor base = pattern({4, 5}, DType::f32, 7);
  tensors["strided"] = base.narrow(1, 1, 3);  // [4,3] view with row stride 5
  ASSERT_FALSE(tensors["strided"].is_contiguous());

  std::string path = dir.file("all.safetensors");
  write_safetensors(path, tensors);
  SafetensorsFile file = read_safetensors(path);
  EXPECT_TRUE(file.metadata.empty());
  ASSERT_EQ(file.tensors.size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    SCOPED_TRACE(name);
    ASSERT_EQ(file.tensors.count(name), 1u);
    const Tensor& got = file.tensors.at(name);
    EXPECT_EQ(got.dtype(), expected.dtype());
    EXPECT_EQ(got.shape(), expected.shape());
    EXPECT_TRUE(got.is_contiguous());
    EXPECT_EQ(reinterpret_cast<uintptr_t>(got.raw_data()) % dtype_size(got.dtype()), 0u);
    EXPECT_EQ(raw_bytes(got), raw_bytes(expected));
  }
  EXPECT_EQ(file.tensors.at("strided").to_vector(), tensors["strided"].to_vector());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"all.safetensors"});  // no temporary left
}

TEST(Safetensors, WritesTheSameBytesEveryTime) {
  ScratchDir dir("recur_safetensors");
  TensorMap tensors{{"b", pattern({3}, DType::f32)}, {"a", pattern({2}, DType::i64)}};
  write_safetensors(dir.file("1"), tensors, {{"k", "v"}});
  write_safetensors(dir.file("2"), tensors, {{"k", "v"}});
  EXPECT_EQ(read_bytes(dir.file("1")), read_bytes(dir.file("2")));
}

TEST(Safetensors, MetadataRoundTripsIncludingCharactersJsonEscapes) {
  ScratchDir dir("recur_safetensors");
  std::map<std::string, std::string> metadata{{"format", "pt"},
                                              {"quote\"back\\slash", "line\nbreak\ttab"},
                                              {"unicode", "h\xc3\xa9llo \xe2\x9c\x93"},
                                              {"empty", ""},
                                              {"json", R"({"hidden": 8, "layers": [1, 2]})"}};
  std::string path = dir.file("meta.safetensors");
  write_safetensors(path, {{"x", pattern({2}, DType::f32)}}, metadata);
  SafetensorsFile file = read_safetensors(path);
  EXPECT_EQ(file.metadata, metadata);
  EXPECT_EQ(file.tensors.at("x").to_vector(), pattern({2}, DType::f32).to_vector());
}

TEST(Safetensors, ParsedTensorsViewTheBufferWithoutCopying) {
  std::string header = R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  Bytes bytes = make_file(header, Bytes(8, 0));
  auto buffer = exact_copy(bytes);
  SafetensorsFile file = parse_safetensors(buffer, bytes.size(), "test buffer");
  const Tensor& x = file.tensors.at("x");
  EXPECT_EQ(x.raw_data(), buffer.get() + bytes.size() - 8);
  EXPECT_EQ(buffer.use_count(), 2);  // the tensor keeps the buffer alive
}

TEST(Safetensors, WritingToAReadTensorLeavesTheFileUnchanged) {
  ScratchDir dir("recur_safetensors");
  std::string path = dir.file("x.safetensors");
  write_safetensors(path, {{"x", Tensor::full({4}, 1.0, DType::f32)}});
  Bytes before = read_bytes(path);
  {
    SafetensorsFile file = read_safetensors(path);
    file.tensors.at("x").fill(9.0);  // lands in this process's private copy of the page
    EXPECT_EQ(file.tensors.at("x").item({0}), 9.0);
  }
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(read_safetensors(path).tensors.at("x").to_vector(), std::vector<double>(4, 1.0));
}

TEST(Safetensors, ReadTensorsOutliveTheFileBeingReplaced) {
  ScratchDir dir("recur_safetensors");
  std::string path = dir.file("x.safetensors");
  write_safetensors(path, {{"x", Tensor::full({3}, 1.0, DType::f64)}});
  Tensor old_x = read_safetensors(path).tensors.at("x");
  write_safetensors(path, {{"x", Tensor::full({3}, 2.0, DType::f64)}});
  EXPECT_EQ(old_x.to_vector(), std::vector<double>(3, 1.0));  // the old inode is still mapped
  EXPECT_EQ(read_safetensors(path).tensors.at("x").to_vector(), std::vector<double>(3, 2.0));
}

// ---------------------------------------------------------------- reference format

// The reference writer's own test vectors (huggingface/safetensors, tensor.rs).
TEST(Safetensors, MatchesReferenceBytesForOneTensor) {
  ScratchDir dir("recur_safetensors");
  Tensor attn = Tensor::from_vector<float>({0, 1, 2, 3, 4, 5}, {1, 2, 3});
  write_safetensors(dir.file("a"), {{"attn.0", attn}});
  const Bytes expected = {64,  0,   0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110,
                          46,  48,  34,  58,  123, 34,  100, 116, 121, 112, 101, 34,  58,  34,
                          70,  51,  50,  34,  44,  34,  115, 104, 97,  112, 101, 34,  58,  91,
                          49,  44,  50,  44,  51,  93,  44,  34,  100, 97,  116, 97,  95,  111,
                          102, 102, 115, 101, 116, 115, 34,  58,  91,  48,  44,  50,  52,  93,
                          125, 125, 0,   0,   0,   0,   0,   0,   128, 63,  0,   0,   0,   64,
                          0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64};
  EXPECT_EQ(read_bytes(dir.file("a")), expected);

  // A shorter name: the header is padded with spaces to a multiple of 8.
  write_safetensors(dir.file("b"), {{"attn0", attn.reshape({1, 1, 2, 3})}});
  Bytes padded = make_file(
      R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})" + std::string(7, ' '),
      raw_bytes(attn));
  EXPECT_EQ(read_bytes(dir.file("b")), padded);
  EXPECT_EQ(padded[0], 72);
}

TEST(Safetensors, MatchesReferenceBytesForEmptyFilesAndMetadata) {
  ScratchDir dir("recur_safetensors");
  write_safetensors(dir.file("empty"), {});
  EXPECT_EQ(read_bytes(dir.file("empty")),
            (Bytes{8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32}));
  write_safetensors(dir.file("meta"), {}, {{"framework", "pt"}});
  EXPECT_EQ(read_bytes(dir.file("meta")),
            make_file(R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' ')));
  EXPECT_TRUE(read_safetensors(dir.file("empty")).tensors.empty());
  EXPECT_EQ(read_safetensors(dir.file("meta")).metadata.at("framework"), "pt");
}

TEST(Safetensors, OrdersDataWidestDtypeFirstThenByNameAsTheReferenceWriter) {
  ScratchDir dir("recur_safetensors");
  TensorMap tensors{{"a", Tensor::from_vector<uint8_t>({1, 2, 3}, {3})},
                    {"b", Tensor::from_vector<float>({1.0f}, {1})},
                    {"c", Tensor::from_vector<int64_t>({-1}, {1})},
                    {"d", Tensor::from_vector<float>({2.0f}, {1})},
                    {"e", Tensor::from_vector<bf16>({to_bf16(1.0f)}, {1})}};
  write_safetensors(dir.file("x"), tensors, {{"k", "v"}});
  std::string header = R"({"__metadata__":{"k":"v"},)"
                       R"("c":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},)"
                       R"("d":{"dtype":"F32","shape":[1],"data_offsets":[12,16]},)"
                       R"("e":{"dtype":"BF16","shape":[1],"data_offsets":[16,18]},)"
                       R"("a":{"dtype":"U8","shape":[3],"data_offsets":[18,21]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  Bytes data = raw_bytes(tensors["c"]);
  for (const char* name : {"b", "d", "e", "a"}) {
    Bytes more = raw_bytes(tensors[name]);
    data.insert(data.end(), more.begin(), more.end());
  }
  EXPECT_EQ(read_bytes(dir.file("x")), make_file(header, data));
}

TEST(Safetensors, ParsesUnpaddedHeaderAndCopiesMisalignedTensors) {
  // Another writer's file: an unpadded header, so the F32 data is misaligned in the file; and
  // entries listed out of offset order.
  std::string header = R"({"y":{"dtype":"U8","shape":[2],"data_offsets":[8,10]},)"
                       R"("x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  ASSERT_NE(header.size() % 4, 0u);
  Bytes data = raw_bytes(Tensor::from_vector<float>({1.5f, -2.0f}, {2}));
  data.push_back(7);
  data.push_back(9);
  Bytes bytes = make_file(header, data);
  for (size_t shift : {0, 1, 3}) {  // misalign the buffer itself too
    SCOPED_TRACE(shift);
    SafetensorsFile file = parse(bytes, shift);
    const Tensor& x = file.tensors.at("x");
    EXPECT_EQ(reinterpret_cast<uintptr_t>(x.raw_data()) % 4, 0u);
    EXPECT_EQ(x.to_vector(), (std::vector<double>{1.5, -2.0}));
    EXPECT_EQ(file.tensors.at("y").to_vector(), (std::vector<double>{7, 9}));
  }
  ScratchDir dir("recur_safetensors");
  write_bytes(dir.file("unpadded"), bytes);
  SafetensorsFile file = read_safetensors(dir.file("unpadded"));
  EXPECT_EQ(file.tensors.at("x").to_vector(), (std::vector<double>{1.5, -2.0}));
}

TEST(Safetensors, AcceptsZeroElementTensorsAnywhereAndNullMetadata) {
  SafetensorsFile file = parse(
      make_file(R"({"__metadata__":null,"e":{"dtype":"F64","shape":[3,0],"data_offsets":[4,4]},)"
                R"("x":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                Bytes{1, 0, 0, 0}));
  EXPECT_EQ(file.tensors.at("e").shape(), (Shape{3, 0}));
  EXPECT_EQ(file.tensors.at("e").numel(), 0);
  EXPECT_EQ(file.tensors.at("x").item({0}), 1.0);
  EXPECT_TRUE(file.metadata.empty());
}

// ---------------------------------------------------------------- corrupt files

TEST(SafetensorsCorrupt, ShortFilesAndBadHeaderLengths) {
  expect_error([] { parse({}); }, {"test buffer", "at least 8 bytes", "got 0"});
  expect_error([] { parse({1, 0, 0}); }, {"at least 8 bytes", "got 3"});
  Bytes past_end = make_file("{}");
  past_end[0] = 40;
  expect_error([&] { parse(past_end); }, {"header length 40", "past the end of the file"});
  Bytes absurd = make_file("{}");
  absurd[7] = 0x80;  // 2^63
  expect_error([&] { parse(absurd); }, {"header length 9223372036854775810", "limit"});
}

TEST(SafetensorsCorrupt, HeaderThatIsNotAJsonObject) {
  expect_parse_error("{\"x\": ", {}, {"test buffer", "header is not valid JSON"});
  expect_parse_error("not json", {}, {"not valid JSON"});
  expect_parse_error(std::string("{}\0\0\0\0\0\0", 8), {}, {"not valid JSON"});  // NUL padding
  expect_parse_error("{\"x\": \"\xff\"}", {}, {"not valid JSON"});               // bad UTF-8
  expect_parse_error("[1, 2]", {}, {"header: expected a JSON object, got array"});
  expect_parse_error("42", {}, {"expected a JSON object, got number"});
  // Deep nesting is refused before it is built (no stack or memory blow-up).
  expect_parse_error(std::string(100000, '[') + std::string(100000, ']'), {}, {"nested at most"});
}

TEST(SafetensorsCorrupt, EntriesWithMissingOrMistypedFields) {
  const Bytes d(8, 0);
  expect_parse_error(R"({"x":3})", d, {"tensor 'x'", "expected an object", "got number"});
  expect_parse_error(R"({"x":{"shape":[2],"data_offsets":[0,8]}})", d,
                     {"tensor 'x'", "missing \"dtype\""});
  expect_parse_error(R"({"x":{"dtype":"F32","data_offsets":[0,8]}})", d, {"missing \"shape\""});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2]}})", d, {"missing \"data_offsets\""});
  expect_parse_error(R"({"x":{"dtype":4,"shape":[2],"data_offsets":[0,8]}})", d,
                     {"\"dtype\": expected a string, got number"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":"2","data_offsets":[0,8]}})", d,
                     {"\"shape\": expected an array", "got string"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", d,
                     {"\"shape\"[0]", "expected a non-negative integer, got number 2.0"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", d,
                     {"expected [begin, end], got [0]"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":{"b":0}}})", d,
                     {"expected [begin, end]"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":["0",8]}})", d,
                     {"\"data_offsets\"[0]", "got string \"0\""});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,null]}})", d,
                     {"\"data_offsets\"[1]", "got null"});
}

TEST(SafetensorsCorrupt, UnknownDtypeAndBadShapes) {
  const Bytes d(8, 0);
  expect_parse_error(R"({"x":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", d,
                     {"tensor 'x'", "unknown dtype 'Q4'", "F32"});
  expect_parse_error(R"({"x":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}})", d,
                     {"unknown dtype 'f32'"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", d,
                     {"\"shape\"[0]", "expected a non-negative integer, got -2"});
  expect_parse_error(R"({"x":{"dtype":"U8","shape":[18446744073709551615],"data_offsets":[0,8]}})",
                     d, {"expected at most 9223372036854775807"});
  expect_parse_error(
      R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,8]}})", d,
      {"shape [4294967296,4294967296,4] is too large"});
  // A zero dimension makes the tensor empty however large the others are.
  expect_parse_error(
      R"({"x":{"dtype":"F32","shape":[4294967296,4294967296,0],"data_offsets":[0,8]}})", d,
      {"expected 0 bytes for shape [4294967296,4294967296,0] of F32"});
}

TEST(SafetensorsCorrupt, OffsetsOutOfRangeReversedMismatchedOrOverlapping) {
  const Bytes d(8, 0);
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})", d,
                     {"data_offsets [0, 16] run past the end of the data section (8 bytes)"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", d,
                     {"data_offsets [8, 0]: expected begin <= end"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", d,
                     {"expected 12 bytes for shape [3] of F32", "[0, 8] (8 bytes)"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                     d, {"tensors 'x'", "'y'", "overlap"});
  expect_parse_error(R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                     R"("y":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                     d, {"overlap"});
}

TEST(SafetensorsCorrupt, MetadataThatIsNotAnObjectOfStrings) {
  expect_parse_error(R"({"__metadata__":{"a":1}})", {},
                     {"\"__metadata__\"[\"a\"]: expected a string, got number 1"});
  expect_parse_error(R"({"__metadata__":{"a":"ok","b":["x"]}})", {},
                     {"\"__metadata__\"[\"b\"]", "got array"});
  expect_parse_error(R"({"__metadata__":[1]})", {}, {"expected an object of strings, got array"});
}

// A valid file with several dtypes, metadata and an empty tensor.
Bytes sample_file(const ScratchDir& dir) {
  TensorMap tensors{{"w", pattern({3, 2}, DType::f32)},
                    {"b", pattern({2}, DType::f64, 1)},
                    {"n", pattern({5}, DType::u8, 2)},
                    {"h", pattern({3}, DType::f16, 3)},
                    {"e", Tensor::empty({0}, DType::i64)}};
  write_safetensors(dir.file("sample"), tensors, {{"format", "pt"}});
  return read_bytes(dir.file("sample"));
}

TEST(SafetensorsCorrupt, EveryTruncationOfAValidFileThrows) {
  ScratchDir dir("recur_safetensors");
  const Bytes full = sample_file(dir);
  ASSERT_EQ(parse(full).tensors.size(), 5u);
  for (size_t length = 0; length < full.size(); ++length) {
    Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_THROW(parse(cut), Error)
        << "a file cut to " << length << " of " << full.size() << " bytes was accepted";
  }
  // The same through the file system and the mapping.
  for (size_t length :
       {size_t{0}, size_t{7}, size_t{8}, size_t{30}, full.size() / 2, full.size() - 1}) {
    std::string path = dir.file("cut" + std::to_string(length));
    write_bytes(path, Bytes(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(length)));
    expect_error([&] { read_safetensors(path); }, {path});
  }
}

TEST(SafetensorsCorrupt, RandomDamageThrowsOrYieldsTensorsInsideTheBuffer) {
  ScratchDir dir("recur_safetensors");
  const Bytes full = sample_file(dir);
  std::mt19937 rng(20240611);
  const uint8_t interesting[] = {0, '"', ',', '-', '0', '1', '9', '[', ']', '{', '}', ' ', 0xff};
  int rejected = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    Bytes damaged = full;
    int hits = 1 + static_cast<int>(rng() % 3);
    for (int h = 0; h < hits; ++h) {
      size_t at = rng() % damaged.size();
      damaged[at] =
          (rng() % 2) ? interesting[rng() % sizeof interesting] : static_cast<uint8_t>(rng());
    }
    try {
      SafetensorsFile file = parse(damaged);
      // Accepted (the damage hit data or kept the header valid): every element must be readable;
      // AddressSanitizer reports any read outside the buffer.
      for (const auto& entry : file.tensors) (void)entry.second.to_vector();
    } catch (const Error&) {
      ++rejected;
    }
  }
  EXPECT_GT(rejected, 0);
}

TEST(SafetensorsCorrupt, WriterRejectsTensorsAndStringsItCannotStore) {
  ScratchDir dir("recur_safetensors");
  std::string path = dir.file("x.safetensors");
  Tensor t = pattern({2}, DType::f32);
  expect_error([&] { write_safetensors(path, {{"x", Tensor()}}); }, {path, "'x' is undefined"});
  expect_error([&] { write_safetensors(path, {{"__metadata__", t}}); }, {"reserved"});
  expect_error(
      [&] {
        write_safetensors(path, {{"bad\xff", t}});
      },
      {"tensor name", "not valid UTF-8"});
  expect_error(
      [&] {
        write_safetensors(path, {{"x", t}}, {{"k", "\xff"}});
      },
      {"metadata value", "not valid UTF-8"});
  EXPECT_TRUE(dir.entries().empty());  // nothing was created
}

// ---------------------------------------------------------------- memory-mapped files

TEST(SafetensorsMappedFile, MapsContentsAndEmptyFiles) {
  ScratchDir dir("recur_safetensors");
  write_bytes(dir.file("abc"), as_bytes("abc"));
  MappedFile abc(dir.file("abc"));
  ASSERT_EQ(abc.size(), 3u);
  EXPECT_EQ(std::memcmp(abc.data(), "abc", 3), 0);
  MappedFile moved(std::move(abc));
  EXPECT_EQ(moved.size(), 3u);
  EXPECT_EQ(abc.size(), 0u);  // NOLINT(bugprone-use-after-move): moved-from state is specified
  EXPECT_EQ(std::memcmp(moved.data(), "abc", 3), 0);

  write_bytes(dir.file("empty"), {});
  MappedFile empty(dir.file("empty"));
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.data(), nullptr);
  expect_error([&] { read_safetensors(dir.file("empty")); },
               {dir.file("empty"), "at least 8 bytes", "got 0"});
}

TEST(SafetensorsMappedFile, MissingUnreadableAndDirectoryPathsAreClearErrors) {
  ScratchDir dir("recur_safetensors");
  expect_error([&] { MappedFile m(dir.file("missing")); },
               {dir.file("missing"), "No such file or directory"});
  expect_error([&] { read_safetensors(dir.file("missing")); }, {"cannot open", "missing"});
  expect_error([&] { MappedFile m(dir.file("")); }, {"expected a regular file, got a directory"});
  if (::geteuid() != 0) {  // root reads anything
    write_bytes(dir.file("secret"), as_bytes("12345678"));
    ::chmod(dir.file("secret").c_str(), 0);
    expect_error([&] { MappedFile m(dir.file("secret")); }, {"secret", "Permission denied"});
  }
}

// ---------------------------------------------------------------- atomic writes

TEST(SafetensorsAtomicFile, ReplacesTheTargetAndLeavesNoTemporary) {
  ScratchDir dir("recur_safetensors");
  std::string path = dir.file("target");
  write_bytes(path, as_bytes("old contents"));
  write_file_atomic(path, [&](AtomicFileWriter& out) {
    // While the body runs, the data goes to a temporary beside the target.
    std::vector<std::string> names = dir.entries();
    EXPECT_EQ(names.size(), 2u);
    EXPECT_EQ(names.back().rfind("target.tmp.", 0), 0u) << names.back();
    EXPECT_EQ(read_bytes(path), as_bytes("old contents"));
    out.write("new ");
    out.write(std::string("contents"));
    EXPECT_EQ(out.bytes_written(), 12u);
  });
  EXPECT_EQ(read_bytes(path), as_bytes("new contents"));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"target"});
}

TEST(SafetensorsAtomicFile, FailedWriteKeepsTheOldFileAndRemovesTheTemporary) {
  ScratchDir dir("recur_safetensors");
  std::string path = dir.file("good.safetensors");
  write_safetensors(path, {{"x", pattern({16}, DType::f32)}});
  const Bytes before = read_bytes(path);
  Bytes junk(3 << 20, 0xab);  // more than the writer's buffer: some of it reaches the disk
  EXPECT_THROW(write_file_atomic(path,
                                 [&](AtomicFileWriter& out) {
                                   out.write(junk.data(), junk.size());
                                   throw std::runtime_error("body failed midway");
                                 }),
               std::runtime_error);
  expect_error(
      [&] {
        write_file_atomic(path, [&](AtomicFileWriter& out) {
          out.write(junk.data(), 100);
          RECUR_FAIL("body failed with a recur::Error");
        });
      },
      {"body failed"});
  EXPECT_EQ(read_bytes(path), before);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"good.safetensors"});
  EXPECT_EQ(read_safetensors(path).tensors.at("x").to_vector(),
            pattern({16}, DType::f32).to_vector());
}

TEST(SafetensorsAtomicFile, StreamsWritesLargerAndSmallerThanItsBuffer) {
  ScratchDir dir("recur_safetensors");
  Bytes expected;
  std::mt19937 rng(7);
  for (size_t size : {size_t{1}, size_t{1000}, size_t{3} << 20, size_t{7}, (size_t{1} << 20) - 3,
                      size_t{5}, size_t{1} << 20}) {
    for (size_t i = 0; i < size; ++i) expected.push_back(static_cast<uint8_t>(rng()));
  }
  write_file_atomic(dir.file("big"), [&](AtomicFileWriter& out) {
    size_t at = 0;
    for (size_t size : {size_t{1}, size_t{1000}, size_t{3} << 20, size_t{7}, (size_t{1} << 20) - 3,
                        size_t{5}, size_t{1} << 20}) {
      out.write(expected.data() + at, size);
      at += size;
    }
  });
  EXPECT_EQ(read_bytes(dir.file("big")), expected);
}

TEST(SafetensorsAtomicFile, KeepsThePermissionsOfTheFileItReplaces) {
  ScratchDir dir("recur_safetensors");
  std::string path = dir.file("private");
  write_bytes(path, as_bytes("x"));
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);
  write_file_atomic(path, [](AtomicFileWriter& out) { out.write("y"); });
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

TEST(SafetensorsAtomicFile, MissingOrReadOnlyDirectoryIsAClearError) {
  ScratchDir dir("recur_safetensors");
  std::string missing = dir.file("no_such_dir/file");
  expect_error([&] { write_file_atomic(missing, [](AtomicFileWriter&) {}); },
               {missing, "no_such_dir", "No such file or directory"});
  expect_error([&] { write_safetensors(dir.file("dir/"), {}); }, {"expected a file path"});
  if (::geteuid() != 0) {  // root writes anywhere
    std::string locked = dir.file("locked");
    ASSERT_EQ(::mkdir(locked.c_str(), 0500), 0);
    expect_error([&] { write_safetensors(locked + "/x.safetensors", {}); },
                 {"locked/x.safetensors", "Permission denied"});
    ::chmod(locked.c_str(), 0700);
  }
}

}  // namespace
}  // namespace recur
