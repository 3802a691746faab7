// The fake cuDNN's RNN calls (README.md): cudnnRNNForward, cudnnRNNBackwardData_v8 and
// cudnnRNNBackwardWeights_v8. Each checks its descriptors, devSeqLengths (device memory holding the
// data descriptors' lengths), the algorithm's limits, every buffer against the live allocations
// (sizes at least what cuDNN asked for, no output overlapping another buffer), then copies the
// buffers to the host (cudaMemcpyAsync on the handle's stream), runs the math of
// emu_cudnn_math.cpp and copies the results back; the work space is NaN after every call. The
// training forward writes into the reserve space everything the backward needs, under a header
// (a magic, the configuration, checksums of the payload and of the forward's x, hx, cx, y and
// weights) that the backward calls check: the same RNN and lengths, an unmodified reserve space,
// the same operands, backward data before backward weights.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "emu_cudnn.h"

namespace emu_cudnn {
namespace {

// FNV-1a over bytes, for the reserve space's checks.
struct Hash {
  uint64_t h = 1469598103934665603ull;
  void bytes(const void* p, size_t n) {
    const auto* c = static_cast<const unsigned char*>(p);
    for (size_t i = 0; i < n; ++i) h = (h ^ c[i]) * 1099511628211ull;
  }
  template <class V>
  void value(V v) {
    bytes(&v, sizeof v);
  }
};

// ---------------------------------------------------------------- RNN data tensors
// Element index of (t, b, 0) in an RNN data tensor of the descriptor's layout.
struct SeqIndex {
  const cudnnRNNDataStruct& d;
  std::vector<size_t> start;  // packed: rows before step t
  explicit SeqIndex(const cudnnRNNDataStruct& desc) : d(desc) {
    if (d.layout != CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED) return;
    start.assign(d.T + 1, 0);
    for (int t = 0; t < d.T; ++t)
      start[t + 1] =
          start[t] + std::count_if(d.lens.begin(), d.lens.end(), [&](int l) { return l > t; });
  }
  size_t rows() const {
    return d.layout == CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED ? start[d.T]
                                                              : static_cast<size_t>(d.T) * d.B;
  }
  size_t bytes() const { return rows() * d.V * dtype_size(d.type); }
  size_t at(int t, int b) const {
    switch (d.layout) {
      case CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED:
        return (static_cast<size_t>(t) * d.B + b) * d.V;
      case CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED:
        return (static_cast<size_t>(b) * d.T + t) * d.V;
      default:
        return (start[t] + b) * d.V;  // sequences sorted longest first: b is present at t
    }
  }
};

// The data tensor's valid vectors as a dense time-major [T, B, V] array (padding 0).
template <class C>
std::vector<C> unpack(const std::vector<unsigned char>& raw, const cudnnRNNDataStruct& d) {
  const SeqIndex ix(d);
  std::vector<C> out(static_cast<size_t>(d.T) * d.B * d.V, C(0));
  for (int b = 0; b < d.B; ++b)
    for (int t = 0; t < d.lens[b]; ++t) {
      const size_t src = ix.at(t, b);
      C* dst = &out[(static_cast<size_t>(t) * d.B + b) * d.V];
      for (int v = 0; v < d.V; ++v) dst[v] = static_cast<C>(load(raw.data(), d.type, src + v));
    }
  return out;
}
// The inverse of unpack: padded vectors get paddingFill where `fill_padding` (an output that the
// descriptor's paddingFill applies to) and NaN otherwise ("undefined").
template <class C>
std::vector<unsigned char> pack(const std::vector<C>& dense, const cudnnRNNDataStruct& d,
                                bool fill_padding) {
  const SeqIndex ix(d);
  std::vector<unsigned char> raw(ix.bytes());
  const double pad = fill_padding && d.has_fill ? d.fill : NAN;
  for (int b = 0; b < d.B; ++b)
    for (int t = 0; t < d.T; ++t) {
      if (d.layout == CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED && t >= d.lens[b]) continue;
      const size_t dst = ix.at(t, b);
      const C* src = &dense[(static_cast<size_t>(t) * d.B + b) * d.V];
      for (int v = 0; v < d.V; ++v)
        store(raw.data(), d.type, dst + v, t < d.lens[b] ? static_cast<double>(src[v]) : pad);
    }
  return raw;
}
template <class C>
uint64_t hash_valid(const std::vector<C>& dense, const cudnnRNNDataStruct& d) {
  Hash h;
  for (int b = 0; b < d.B; ++b)
    for (int t = 0; t < d.lens[b]; ++t)
      h.bytes(&dense[(static_cast<size_t>(t) * d.B + b) * d.V], sizeof(C) * d.V);
  return h.h;
}
template <class C>
uint64_t hash_all(const std::vector<C>& v) {
  Hash h;
  h.bytes(v.data(), v.size() * sizeof(C));
  return h.h;
}

// ---------------------------------------------------------------- checks shared by the calls
struct Header {
  uint64_t magic;
  uint32_t state;  // 1: a training forward filled it; 2: and a backward data followed
  uint32_t unused;
  uint64_t config;            // the RNN and the data descriptors' shape and lengths
  uint64_t fwd_sum, bwd_sum;  // of the payload's two regions
  uint64_t x_hash, hx_hash, cx_hash, y_hash, w_hash;  // of the forward's operands
};
static_assert(sizeof(Header) <= kReserveHeader, "reserve header");
constexpr uint64_t kMagic = 0x53524e4e4455434dull;  // "MCUDNNRS"

uint64_t config_hash(const cudnnRNNStruct& r, const cudnnRNNDataStruct& x) {
  Hash h;
  for (int v : {static_cast<int>(r.algo), static_cast<int>(r.cell), static_cast<int>(r.bias),
                static_cast<int>(r.dir), static_cast<int>(r.type), static_cast<int>(r.prec),
                static_cast<int>(r.math), r.I, r.H, r.P, r.L, static_cast<int>(r.aux),
                static_cast<int>(x.layout), x.T, x.B})
    h.value(v);
  h.bytes(x.lens.data(), x.lens.size() * sizeof(int));
  return h.h;
}

bool variable_lengths(const cudnnRNNDataStruct& x) {
  return std::any_of(x.lens.begin(), x.lens.end(), [&](int l) { return l != x.T; });
}

// The algorithm's documented (and, marked, the fake's own) limits, at the calls that run it.
cudnnStatus_t check_algo(const char* api, const cudnnRNNStruct& r, const cudnnRNNDataStruct& x,
                         bool training) {
  const bool rnn = r.cell == CUDNN_RNN_RELU || r.cell == CUDNN_RNN_TANH;
  switch (r.algo) {
    case CUDNN_RNN_ALGO_PERSIST_STATIC:
    case CUDNN_RNN_ALGO_PERSIST_DYNAMIC: {
      const char* name = r.algo == CUDNN_RNN_ALGO_PERSIST_STATIC ? "CUDNN_RNN_ALGO_PERSIST_STATIC"
                                                                 : "CUDNN_RNN_ALGO_PERSIST_DYNAMIC";
      // cudnnRNNForward's reference lists these under CUDNN_STATUS_BAD_PARAM.
      if (variable_lengths(x))
        return fail(CUDNN_STATUS_BAD_PARAM, api,
                    "variable sequence lengths (not all %d) with %s: an invalid or incompatible "
                    "input argument per cuDNN's reference",
                    x.T, name);
      if (r.algo == CUDNN_RNN_ALGO_PERSIST_STATIC && r.type == CUDNN_DATA_DOUBLE)
        return fail(CUDNN_STATUS_BAD_PARAM, api,
                    "double input/output with CUDNN_RNN_ALGO_PERSIST_STATIC: an invalid or "
                    "incompatible input argument per cuDNN's reference");
      if (r.algo == CUDNN_RNN_ALGO_PERSIST_DYNAMIC && r.built_batch != x.B)
        return fail(CUDNN_STATUS_BAD_PARAM, api,
                    "CUDNN_RNN_ALGO_PERSIST_DYNAMIC needs cudnnBuildRNNDynamic with miniBatch = %d "
                    "after cudnnSetRNNDescriptor_v8 (%s)",
                    x.B, r.built_batch < 0 ? "never built" : "built for another batch");
      if (r.H > 1024)  // the fake's limit: the recurrent weights no longer stay on chip
        return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                    "%s with hiddenSize %d > 1024 (emulator limit)", name, r.H);
      return CUDNN_STATUS_SUCCESS;
    }
    case CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H: {
      // The fake's limits, PyTorch's rule for choosing this algorithm (aten cudnn/RNN.cpp).
      if (variable_lengths(x))
        return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                    "CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H with variable sequence lengths");
      if (r.type == CUDNN_DATA_DOUBLE)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                    "CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H with double data");
      const int limit = training ? (rnn ? 256 : 128) : (rnn ? 384 : 192);
      if (r.H > limit)
        return fail(CUDNN_STATUS_NOT_SUPPORTED, api,
                    "CUDNN_RNN_ALGO_PERSIST_STATIC_SMALL_H with hiddenSize %d > %d (%s)", r.H,
                    limit, training ? "training" : "inference");
      return CUDNN_STATUS_SUCCESS;
    }
    default:
      return CUDNN_STATUS_SUCCESS;
  }
}

struct Buf {
  const void* p;
  size_t bytes;
  const char* name;
  bool output;
};

// Descriptors, devSeqLengths, stream; then every buffer (NULL where allowed) against the live
// allocations, and outputs against overlaps.
struct Call {
  explicit Call(const char* name) : api(name) {}
  const char* api;
  cudnnHandle_t handle = nullptr;
  cudnnRNNStruct* r = nullptr;
  cudnnRNNDataStruct* x = nullptr;
  cudnnRNNDataStruct* y = nullptr;
  std::vector<Buf> bufs;

  cudnnStatus_t descriptors(cudnnHandle_t h, cudnnRNNDescriptor_t rnnDesc,
                            cudnnRNNDataDescriptor_t xDesc, cudnnRNNDataDescriptor_t yDesc,
                            cudnnTensorDescriptor_t hDesc, cudnnTensorDescriptor_t cDesc,
                            bool with_c) {
    if (!live_handle(h)) return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid handle");
    handle = h;
    if (!emu::stream_ok(h->stream, api))
      return fail(CUDNN_STATUS_BAD_PARAM, api, "the handle's stream %p is no longer a live stream",
                  static_cast<void*>(h->stream));
    if (!live_rnn(rnnDesc) || !rnnDesc->set)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset RNN descriptor");
    r = rnnDesc;
    if (!live_dropout(r->dropout))
      return fail(CUDNN_STATUS_BAD_PARAM, api,
                  "the RNN descriptor's dropout descriptor %p was destroyed",
                  static_cast<void*>(r->dropout));
    if (!live_data(xDesc) || !xDesc->set || !live_data(yDesc) || !yDesc->set)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "invalid or unset xDesc or yDesc");
    x = xDesc;
    y = yDesc;
    const int D = dirs(*r);
    if (x->type != r->type || y->type != r->type)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "xDesc %s / yDesc %s, the RNN's dataType is %s",
                  dtype_name(x->type), dtype_name(y->type), dtype_name(r->type));
    if (x->V != r->I)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "xDesc vectorSize %d != inputSize %d", x->V, r->I);
    if (y->V != r->P * D)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "yDesc vectorSize %d != %s %d", y->V,
                  D == 2 ? "2 * projSize" : "projSize", r->P * D);
    if (x->layout != y->layout || x->T != y->T || x->B != y->B || x->lens != y->lens)
      return fail(CUDNN_STATUS_BAD_PARAM, api,
                  "xDesc and yDesc differ in layout, maxSeqLength, batchSize or seqLengthArray");
    if (x->layout != CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED &&
        !(r->aux & CUDNN_RNN_PADDED_IO_ENABLED))
      return fail(CUDNN_STATUS_BAD_PARAM, api,
                  "unpacked layouts need CUDNN_RNN_PADDED_IO_ENABLED in the RNN's auxFlags");
    auto state_desc = [&](cudnnTensorDescriptor_t t, int last, const char* name) {
      const int want[3] = {r->L * D, x->B, last};
      if (!live_tensor(t) || !t->set)
        return fail(CUDNN_STATUS_BAD_PARAM, api, "%s is not a set tensor descriptor", name);
      bool ok = t->type == r->type && t->nb == 3;
      for (int i = 0; ok && i < 3; ++i) ok = t->dims[i] == want[i];
      ok = ok && t->strides[2] == 1 && t->strides[1] == want[2] &&
           t->strides[0] == want[1] * want[2];
      if (!ok)
        return fail(CUDNN_STATUS_BAD_PARAM, api,
                    "%s must be a packed 3-D %s tensor [%d, %d, %d] (got %d dimensions [%d, %d, "
                    "%d] of %s)",
                    name, dtype_name(r->type), want[0], want[1], want[2], t->nb, t->dims[0],
                    t->dims[1], t->dims[2], dtype_name(t->type));
      return CUDNN_STATUS_SUCCESS;
    };
    cudnnStatus_t s = state_desc(hDesc, r->P, "hDesc");
    if (s != CUDNN_STATUS_SUCCESS) return s;
    if (with_c && r->cell == CUDNN_LSTM) return state_desc(cDesc, r->H, "cDesc");
    return CUDNN_STATUS_SUCCESS;
  }

  // devSeqLengths: device memory holding xDesc's seqLengthArray.
  cudnnStatus_t seq_lengths(const int32_t* dev) {
    const size_t bytes = sizeof(int32_t) * x->B;
    if (!dev) return fail(CUDNN_STATUS_BAD_PARAM, api, "devSeqLengths is NULL");
    if (!emu::check_range(dev, bytes, true, (std::string(api) + " devSeqLengths").c_str()))
      return fail(CUDNN_STATUS_BAD_PARAM, api,
                  "devSeqLengths %p is not device memory of %zu bytes (cuDNN 9 reads the lengths "
                  "on the GPU)",
                  static_cast<const void*>(dev), bytes);
    std::vector<int32_t> got(x->B);
    if (cudaMemcpyAsync(got.data(), dev, bytes, cudaMemcpyDeviceToHost, handle->stream) !=
        cudaSuccess)
      return fail(CUDNN_STATUS_EXECUTION_FAILED, api, "could not read devSeqLengths");
    for (int b = 0; b < x->B; ++b)
      if (got[b] != x->lens[b])
        return fail(CUDNN_STATUS_BAD_PARAM, api,
                    "devSeqLengths[%d] = %d, but the data descriptors' seqLengthArray[%d] = %d", b,
                    got[b], b, x->lens[b]);
    return CUDNN_STATUS_SUCCESS;
  }

  // A device buffer of `bytes` (NULL allowed where `optional`).
  cudnnStatus_t buffer(const void* p, size_t bytes, const char* name, bool output, bool optional) {
    if (!p) {
      if (optional || bytes == 0) return CUDNN_STATUS_SUCCESS;
      return fail(CUDNN_STATUS_BAD_PARAM, api, "%s is NULL", name);
    }
    if (!emu::check_range(p, bytes, true, (std::string(api) + " " + name).c_str()))
      return fail(CUDNN_STATUS_BAD_PARAM, api, "%s (%p) is not device memory of %zu bytes", name, p,
                  bytes);
    bufs.push_back({p, bytes, name, output});
    return CUDNN_STATUS_SUCCESS;
  }
  // A size argument against the size cuDNN asked for.
  cudnnStatus_t size_at_least(size_t given, size_t need, const char* name) {
    if (given < need)
      return fail(CUDNN_STATUS_BAD_PARAM, api, "%s %zu is less than the %zu bytes required", name,
                  given, need);
    return CUDNN_STATUS_SUCCESS;
  }
  // Strict reading: no output may overlap another buffer of the call.
  cudnnStatus_t no_overlaps() {
    for (const Buf& o : bufs) {
      if (!o.output) continue;
      for (const Buf& b : bufs) {
        if (&b == &o || b.bytes == 0 || o.bytes == 0) continue;
        const auto* p = static_cast<const unsigned char*>(o.p);
        const auto* q = static_cast<const unsigned char*>(b.p);
        if (p < q + b.bytes && q < p + o.bytes)
          return fail(CUDNN_STATUS_BAD_PARAM, api, "output %s overlaps %s", o.name, b.name);
      }
    }
    return CUDNN_STATUS_SUCCESS;
  }

  bool read(const void* dev, size_t bytes, std::vector<unsigned char>& host) {
    host.resize(bytes);
    return bytes == 0 || cudaMemcpyAsync(host.data(), dev, bytes, cudaMemcpyDeviceToHost,
                                         handle->stream) == cudaSuccess;
  }
  bool write(void* dev, const std::vector<unsigned char>& host) {
    return host.empty() || cudaMemcpyAsync(dev, host.data(), host.size(), cudaMemcpyHostToDevice,
                                           handle->stream) == cudaSuccess;
  }
  // The work space holds nothing from one call to the next: NaN after every call.
  bool poison(void* work, size_t bytes) {
    return !work || bytes == 0 || cudaMemsetAsync(work, 0xFF, bytes, handle->stream) == cudaSuccess;
  }
};

#define EMU_TRY(expr)                                            \
  do {                                                           \
    const cudnnStatus_t emu_status_ = (expr);                    \
    if (emu_status_ != CUDNN_STATUS_SUCCESS) return emu_status_; \
  } while (0)

// A state tensor ([L*D, B, n] of the data type) as values, zeros for NULL.
template <class C>
bool read_state(Call& c, const void* dev, size_t count, std::vector<C>& out) {
  out.assign(count, C(0));
  if (!dev) return true;
  std::vector<unsigned char> raw;
  if (!c.read(dev, count * dtype_size(c.r->type), raw)) return false;
  for (size_t i = 0; i < count; ++i) out[i] = static_cast<C>(load(raw.data(), c.r->type, i));
  return true;
}
template <class C>
bool write_state(Call& c, void* dev, const std::vector<C>& v) {
  if (!dev) return true;
  std::vector<unsigned char> raw(v.size() * dtype_size(c.r->type));
  for (size_t i = 0; i < v.size(); ++i) store(raw.data(), c.r->type, i, v[i]);
  return c.write(dev, raw);
}
template <class C>
bool read_weights(Call& c, Model<C>& m, const void* dev) {
  std::vector<unsigned char> raw;
  if (!c.read(dev, m.wl.elems * dtype_size(c.r->type), raw)) return false;
  m.w.assign(m.wl.elems, C(0));
  for (const std::vector<Block>* blocks : {&m.wl.mat, &m.wl.bias})
    for (const Block& b : *blocks)
      if (b.exists())
        for (size_t i = 0; i < b.numel(); ++i)
          m.w[b.off + i] = static_cast<C>(load(raw.data(), c.r->type, b.off + i));
  return true;
}
template <class C>
uint64_t weights_hash(const Model<C>& m) {
  Hash h;
  for (const std::vector<Block>* blocks : {&m.wl.mat, &m.wl.bias})
    for (const Block& b : *blocks)
      if (b.exists()) h.bytes(&m.w[b.off], b.numel() * sizeof(C));
  return h.h;
}
template <class C>
uint64_t region_sum(const Model<C>& m, bool backward) {
  Hash h;
  const C* p = m.res.data() + (backward ? m.fwd_total : 0);
  const size_t n = backward ? m.res.size() - m.fwd_total : m.fwd_total;
  h.bytes(p, n * sizeof(C));
  return h.h;
}

// Reads and checks the reserve space a training forward filled (`need_state` 1 or 2).
template <class C>
cudnnStatus_t read_reserve(Call& c, Model<C>& m, const void* reserve, int need_state, Header& hd) {
  std::vector<unsigned char> raw;
  if (!c.read(reserve, kReserveHeader + m.res.size() * sizeof(C), raw))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read the reserve space");
  memcpy(&hd, raw.data(), sizeof hd);
  if (hd.magic != kMagic || hd.state < 1)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "the reserve space does not hold a training forward's state "
                "(cudnnRNNForward with CUDNN_FWD_MODE_TRAINING fills it)");
  if (hd.config != config_hash(*c.r, *c.x))
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "the reserve space was filled by a forward with another RNN descriptor or other "
                "data dimensions / sequence lengths");
  if (need_state == 2 && hd.state != 2)
    return fail(
        CUDNN_STATUS_BAD_PARAM, c.api,
        "cudnnRNNBackwardWeights_v8 must follow cudnnRNNBackwardData_v8 on the same reserve "
        "space");
  memcpy(m.res.data(), raw.data() + kReserveHeader, m.res.size() * sizeof(C));
  if (region_sum(m, false) != hd.fwd_sum)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "the reserve space was modified after the training forward");
  if (need_state == 2 && region_sum(m, true) != hd.bwd_sum)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "the reserve space was modified after cudnnRNNBackwardData_v8");
  return CUDNN_STATUS_SUCCESS;
}
template <class C>
bool write_reserve(Call& c, const Model<C>& m, void* reserve, const Header& hd) {
  std::vector<unsigned char> raw(kReserveHeader + m.res.size() * sizeof(C), 0);
  memcpy(raw.data(), &hd, sizeof hd);
  memcpy(raw.data() + kReserveHeader, m.res.data(), m.res.size() * sizeof(C));
  return c.write(reserve, raw);
}

// ---------------------------------------------------------------- the three calls
template <class C>
cudnnStatus_t forward(Call& c, cudnnForwardMode_t mode, const void* x, void* y, const void* hx,
                      void* hy, const void* cx, void* cy, const void* weights, void* work,
                      size_t work_bytes, void* reserve) {
  Model<C> m(*c.r, *c.x);
  const size_t S = static_cast<size_t>(m.L) * m.D * m.B;
  std::vector<unsigned char> raw;
  if (!c.read(x, SeqIndex(*c.x).bytes(), raw))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read x");
  const std::vector<C> xv = unpack<C>(raw, *c.x);
  std::vector<C> hxv, cxv, yv, hyv(S * m.P), cyv(m.lstm ? S * m.H : 0);
  if (!read_state(c, hx, S * m.P, hxv) || !read_state(c, m.lstm ? cx : nullptr, S * m.H, cxv) ||
      !read_weights(c, m, weights))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read hx, cx or the weights");
  run_forward(m, xv, hxv, cxv, yv, hyv, cyv);
  if (!c.write(y, pack(yv, *c.y, true)) || !write_state(c, hy, hyv) ||
      !(m.lstm ? write_state(c, cy, cyv) : true))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not write y, hy or cy");
  if (mode == CUDNN_FWD_MODE_TRAINING) {
    Header hd{};
    hd.magic = kMagic;
    hd.state = 1;
    hd.config = config_hash(*c.r, *c.x);
    hd.fwd_sum = region_sum(m, false);
    hd.x_hash = hash_valid(xv, *c.x);
    hd.hx_hash = hash_all(hxv);
    hd.cx_hash = hash_all(cxv);
    hd.y_hash = hash_valid(yv, *c.y);
    hd.w_hash = weights_hash(m);
    if (!write_reserve(c, m, reserve, hd))
      return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not write the reserve space");
  }
  if (!c.poison(work, work_bytes))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not write the work space");
  return CUDNN_STATUS_SUCCESS;
}

template <class C>
cudnnStatus_t backward_data(Call& c, const void* y, const void* dy, void* dx, const void* hx,
                            const void* dhy, void* dhx, const void* cx, const void* dcy, void* dcx,
                            const void* weights, void* work, size_t work_bytes, void* reserve) {
  Model<C> m(*c.r, *c.x);
  Header hd{};
  EMU_TRY(read_reserve(c, m, reserve, 1, hd));
  const size_t S = static_cast<size_t>(m.L) * m.D * m.B;
  std::vector<unsigned char> raw;
  if (!c.read(y, SeqIndex(*c.y).bytes(), raw))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read y");
  if (hash_valid(unpack<C>(raw, *c.y), *c.y) != hd.y_hash)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "y is not the output of the training forward that filled the reserve space");
  if (!c.read(dy, SeqIndex(*c.y).bytes(), raw))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read dy");
  const std::vector<C> dyv = unpack<C>(raw, *c.y);
  std::vector<C> hxv, cxv, dhyv, dcyv, dxv, dhxv(S * m.P), dcxv(m.lstm ? S * m.H : 0);
  if (!read_state(c, hx, S * m.P, hxv) || !read_state(c, m.lstm ? cx : nullptr, S * m.H, cxv) ||
      !read_state(c, dhy, S * m.P, dhyv) || !read_state(c, m.lstm ? dcy : nullptr, S * m.H, dcyv) ||
      !read_weights(c, m, weights))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read the states or the weights");
  if (hash_all(hxv) != hd.hx_hash || (m.lstm && hash_all(cxv) != hd.cx_hash))
    return fail(CUDNN_STATUS_BAD_PARAM, c.api, "hx or cx differs from the training forward's");
  if (weights_hash(m) != hd.w_hash)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "the weight space differs from the training forward's");
  run_backward_data(m, dyv, hxv, cxv, dhyv, dcyv, dxv, dhxv, dcxv);
  // dx's padding: xDesc describes the RNN input, where paddingFill has no effect: undefined.
  if (!c.write(dx, pack(dxv, *c.x, false)) || !write_state(c, dhx, dhxv) ||
      !(m.lstm ? write_state(c, dcx, dcxv) : true))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not write dx, dhx or dcx");
  hd.state = 2;
  hd.bwd_sum = region_sum(m, true);
  if (!write_reserve(c, m, reserve, hd) || !c.poison(work, work_bytes))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not write the reserve or work space");
  return CUDNN_STATUS_SUCCESS;
}

template <class C>
cudnnStatus_t backward_weights(Call& c, const void* x, const void* hx, const void* y,
                               void* dweights, void* work, size_t work_bytes, void* reserve) {
  Model<C> m(*c.r, *c.x);
  Header hd{};
  EMU_TRY(read_reserve(c, m, reserve, 2, hd));
  const size_t S = static_cast<size_t>(m.L) * m.D * m.B;
  std::vector<unsigned char> raw;
  if (!c.read(x, SeqIndex(*c.x).bytes(), raw))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read x");
  const std::vector<C> xv = unpack<C>(raw, *c.x);
  if (hash_valid(xv, *c.x) != hd.x_hash)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "x differs from the x of the training forward that filled the reserve space");
  if (!c.read(y, SeqIndex(*c.y).bytes(), raw))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read y");
  if (hash_valid(unpack<C>(raw, *c.y), *c.y) != hd.y_hash)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api,
                "y is not the output of the training forward that filled the reserve space");
  std::vector<C> hxv;
  if (!read_state(c, hx, S * m.P, hxv))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read hx");
  if (hash_all(hxv) != hd.hx_hash)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api, "hx differs from the training forward's");
  // The gradient space: added into (CUDNN_WGRAD_MODE_ADD), block by block; gaps untouched.
  if (!c.read(dweights, m.wl.elems * dtype_size(c.r->type), raw))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not read dweightSpace");
  std::vector<C> grad(m.wl.elems, C(0));
  run_backward_weights(m, xv, hxv, grad);
  for (const std::vector<Block>* blocks : {&m.wl.mat, &m.wl.bias})
    for (const Block& b : *blocks)
      if (b.exists())
        for (size_t i = 0; i < b.numel(); ++i)
          store(raw.data(), c.r->type, b.off + i,
                load(raw.data(), c.r->type, b.off + i) + static_cast<double>(grad[b.off + i]));
  if (!c.write(dweights, raw) || !c.poison(work, work_bytes))
    return fail(CUDNN_STATUS_EXECUTION_FAILED, c.api, "could not write dweightSpace");
  return CUDNN_STATUS_SUCCESS;
}

size_t state_bytes(const cudnnRNNStruct& r, int batch, int n) {
  return static_cast<size_t>(r.L) * dirs(r) * batch * n * dtype_size(r.type);
}

}  // namespace
}  // namespace emu_cudnn

using namespace emu_cudnn;

extern "C" {

cudnnStatus_t cudnnRNNForward(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                              cudnnForwardMode_t fwdMode, const int32_t devSeqLengths[],
                              cudnnRNNDataDescriptor_t xDesc, const void* x,
                              cudnnRNNDataDescriptor_t yDesc, void* y,
                              cudnnTensorDescriptor_t hDesc, const void* hx, void* hy,
                              cudnnTensorDescriptor_t cDesc, const void* cx, void* cy,
                              size_t weightSpaceSize, const void* weightSpace, size_t workSpaceSize,
                              void* workSpace, size_t reserveSpaceSize, void* reserveSpace) {
  ApiLock lock;
  Call c{"cudnnRNNForward"};
  if (fwdMode != CUDNN_FWD_MODE_INFERENCE && fwdMode != CUDNN_FWD_MODE_TRAINING)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api, "invalid fwdMode %d", static_cast<int>(fwdMode));
  const bool training = fwdMode == CUDNN_FWD_MODE_TRAINING;
  EMU_TRY(c.descriptors(handle, rnnDesc, xDesc, yDesc, hDesc, cDesc, true));
  EMU_TRY(check_algo(c.api, *c.r, *c.x, training));
  EMU_TRY(c.seq_lengths(devSeqLengths));
  const cudnnRNNStruct& r = *c.r;
  const bool lstm = r.cell == CUDNN_LSTM;
  const size_t wbytes = weight_layout(r).bytes, work = work_space_bytes(r, *c.x);
  EMU_TRY(c.size_at_least(weightSpaceSize, wbytes, "weightSpaceSize"));
  EMU_TRY(c.size_at_least(workSpaceSize, work, "workSpaceSize"));
  EMU_TRY(c.buffer(x, SeqIndex(*c.x).bytes(), "x", false, false));
  EMU_TRY(c.buffer(y, SeqIndex(*c.y).bytes(), "y", true, false));
  EMU_TRY(c.buffer(hx, state_bytes(r, c.x->B, r.P), "hx", false, true));
  EMU_TRY(c.buffer(hy, state_bytes(r, c.x->B, r.P), "hy", true, true));
  if (lstm) {
    EMU_TRY(c.buffer(cx, state_bytes(r, c.x->B, r.H), "cx", false, true));
    EMU_TRY(c.buffer(cy, state_bytes(r, c.x->B, r.H), "cy", true, true));
  }
  EMU_TRY(c.buffer(weightSpace, weightSpaceSize, "weightSpace", false, false));
  EMU_TRY(c.buffer(workSpace, workSpaceSize, "workSpace", true, work == 0));
  if (training) {
    EMU_TRY(c.size_at_least(reserveSpaceSize, reserve_space_bytes(r, *c.x), "reserveSpaceSize"));
    EMU_TRY(c.buffer(reserveSpace, reserveSpaceSize, "reserveSpace", true, false));
  }
  EMU_TRY(c.no_overlaps());
  if (r.type == CUDNN_DATA_DOUBLE)
    return forward<double>(c, fwdMode, x, y, hx, hy, cx, cy, weightSpace, workSpace, workSpaceSize,
                           reserveSpace);
  return forward<float>(c, fwdMode, x, y, hx, hy, cx, cy, weightSpace, workSpace, workSpaceSize,
                        reserveSpace);
}

cudnnStatus_t cudnnRNNBackwardData_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                      const int32_t devSeqLengths[], cudnnRNNDataDescriptor_t yDesc,
                                      const void* y, const void* dy, cudnnRNNDataDescriptor_t xDesc,
                                      void* dx, cudnnTensorDescriptor_t hDesc, const void* hx,
                                      const void* dhy, void* dhx, cudnnTensorDescriptor_t cDesc,
                                      const void* cx, const void* dcy, void* dcx,
                                      size_t weightSpaceSize, const void* weightSpace,
                                      size_t workSpaceSize, void* workSpace,
                                      size_t reserveSpaceSize, void* reserveSpace) {
  ApiLock lock;
  Call c{"cudnnRNNBackwardData_v8"};
  EMU_TRY(c.descriptors(handle, rnnDesc, xDesc, yDesc, hDesc, cDesc, true));
  EMU_TRY(check_algo(c.api, *c.r, *c.x, true));
  EMU_TRY(c.seq_lengths(devSeqLengths));
  const cudnnRNNStruct& r = *c.r;
  const bool lstm = r.cell == CUDNN_LSTM;
  const size_t wbytes = weight_layout(r).bytes, work = work_space_bytes(r, *c.x);
  EMU_TRY(c.size_at_least(weightSpaceSize, wbytes, "weightSpaceSize"));
  EMU_TRY(c.size_at_least(workSpaceSize, work, "workSpaceSize"));
  EMU_TRY(c.size_at_least(reserveSpaceSize, reserve_space_bytes(r, *c.x), "reserveSpaceSize"));
  EMU_TRY(c.buffer(y, SeqIndex(*c.y).bytes(), "y", false, false));
  EMU_TRY(c.buffer(dy, SeqIndex(*c.y).bytes(), "dy", false, false));
  EMU_TRY(c.buffer(dx, SeqIndex(*c.x).bytes(), "dx", true, false));
  EMU_TRY(c.buffer(hx, state_bytes(r, c.x->B, r.P), "hx", false, true));
  EMU_TRY(c.buffer(dhy, state_bytes(r, c.x->B, r.P), "dhy", false, true));
  EMU_TRY(c.buffer(dhx, state_bytes(r, c.x->B, r.P), "dhx", true, true));
  if (lstm) {
    EMU_TRY(c.buffer(cx, state_bytes(r, c.x->B, r.H), "cx", false, true));
    EMU_TRY(c.buffer(dcy, state_bytes(r, c.x->B, r.H), "dcy", false, true));
    EMU_TRY(c.buffer(dcx, state_bytes(r, c.x->B, r.H), "dcx", true, true));
  }
  EMU_TRY(c.buffer(weightSpace, weightSpaceSize, "weightSpace", false, false));
  EMU_TRY(c.buffer(workSpace, workSpaceSize, "workSpace", true, work == 0));
  EMU_TRY(c.buffer(reserveSpace, reserveSpaceSize, "reserveSpace", true, false));
  EMU_TRY(c.no_overlaps());
  if (r.type == CUDNN_DATA_DOUBLE)
    return backward_data<double>(c, y, dy, dx, hx, dhy, dhx, cx, dcy, dcx, weightSpace, workSpace,
                                 workSpaceSize, reserveSpace);
  return backward_data<float>(c, y, dy, dx, hx, dhy, dhx, cx, dcy, dcx, weightSpace, workSpace,
                              workSpaceSize, reserveSpace);
}

// Only CUDNN_WGRAD_MODE_ADD: cuDNN 9.14 answers NOT_SUPPORTED for CUDNN_WGRAD_MODE_SET (measured).
cudnnStatus_t cudnnRNNBackwardWeights_v8(cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc,
                                         cudnnWgradMode_t addGrad, const int32_t devSeqLengths[],
                                         cudnnRNNDataDescriptor_t xDesc, const void* x,
                                         cudnnTensorDescriptor_t hDesc, const void* hx,
                                         cudnnRNNDataDescriptor_t yDesc, const void* y,
                                         size_t weightSpaceSize, void* dweightSpace,
                                         size_t workSpaceSize, void* workSpace,
                                         size_t reserveSpaceSize, void* reserveSpace) {
  ApiLock lock;
  Call c{"cudnnRNNBackwardWeights_v8"};
  if (addGrad == CUDNN_WGRAD_MODE_SET)
    return fail(CUDNN_STATUS_NOT_SUPPORTED, c.api,
                "CUDNN_WGRAD_MODE_SET (cuDNN 9 accepts CUDNN_WGRAD_MODE_ADD only)");
  if (addGrad != CUDNN_WGRAD_MODE_ADD)
    return fail(CUDNN_STATUS_BAD_PARAM, c.api, "invalid addGrad %d", static_cast<int>(addGrad));
  EMU_TRY(c.descriptors(handle, rnnDesc, xDesc, yDesc, hDesc, nullptr, false));
  EMU_TRY(check_algo(c.api, *c.r, *c.x, true));
  EMU_TRY(c.seq_lengths(devSeqLengths));
  const cudnnRNNStruct& r = *c.r;
  const size_t wbytes = weight_layout(r).bytes, work = work_space_bytes(r, *c.x);
  EMU_TRY(c.size_at_least(weightSpaceSize, wbytes, "weightSpaceSize"));
  EMU_TRY(c.size_at_least(workSpaceSize, work, "workSpaceSize"));
  EMU_TRY(c.size_at_least(reserveSpaceSize, reserve_space_bytes(r, *c.x), "reserveSpaceSize"));
  EMU_TRY(c.buffer(x, SeqIndex(*c.x).bytes(), "x", false, false));
  EMU_TRY(c.buffer(hx, state_bytes(r, c.x->B, r.P), "hx", false, true));
  EMU_TRY(c.buffer(y, SeqIndex(*c.y).bytes(), "y", false, false));
  EMU_TRY(c.buffer(dweightSpace, weightSpaceSize, "dweightSpace", true, false));
  EMU_TRY(c.buffer(workSpace, workSpaceSize, "workSpace", true, work == 0));
  EMU_TRY(c.buffer(reserveSpace, reserveSpaceSize, "reserveSpace", false, false));
  EMU_TRY(c.no_overlaps());
  if (r.type == CUDNN_DATA_DOUBLE)
    return backward_weights<double>(c, x, hx, y, dweightSpace, workSpace, workSpaceSize,
                                    reserveSpace);
  return backward_weights<float>(c, x, hx, y, dweightSpace, workSpace, workSpaceSize, reserveSpace);
}

}  // extern "C"
