// The fake cuDNN against PyTorch (driven by cudnn_vs_torch.py, which writes a case into a
// directory and compares what this program writes back): one RNN through the cuDNN 9 API as a
// user would call it, the weights placed with cudnnGetRNNWeightParams in PyTorch's order.
//   cudnn_check DIR       reads DIR/cfg.txt, DIR/*.bin; writes DIR/out_*.bin
//   cudnn_check --errors  the fake's refusals: each misuse must fail with the expected status
#include <cudnn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define CK(x)                                                                                   \
  do {                                                                                          \
    cudnnStatus_t s_ = (x);                                                                     \
    if (s_ != CUDNN_STATUS_SUCCESS) {                                                           \
      char m_[1024];                                                                            \
      cudnnGetLastErrorString(m_, sizeof m_);                                                   \
      fprintf(stderr, "%s:%d %s -> %s (%s)\n", __FILE__, __LINE__, #x, cudnnGetErrorString(s_), \
              m_);                                                                              \
      exit(1);                                                                                  \
    }                                                                                           \
  } while (0)
#define CU(x)                                                       \
  do {                                                              \
    if ((x) != cudaSuccess) {                                       \
      fprintf(stderr, "%s:%d %s failed\n", __FILE__, __LINE__, #x); \
      exit(1);                                                      \
    }                                                               \
  } while (0)

static std::string dir;
static std::vector<double> read_f64(const std::string& name) {
  std::ifstream f(dir + "/" + name, std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<double> v(raw.size() / 8);
  memcpy(v.data(), raw.data(), raw.size());
  return v;
}
static void write_f64(const std::string& name, const std::vector<double>& v) {
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.write(reinterpret_cast<const char*>(v.data()), v.size() * 8);
}

static cudnnDataType_t dtype;
static size_t es() {
  return dtype == CUDNN_DATA_DOUBLE ? 8 : dtype == CUDNN_DATA_FLOAT ? 4 : 2;
}
static uint16_t to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
static std::vector<unsigned char> encode(const std::vector<double>& v) {
  std::vector<unsigned char> raw(v.size() * es());
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == CUDNN_DATA_DOUBLE)
      memcpy(&raw[i * 8], &v[i], 8);
    else if (dtype == CUDNN_DATA_FLOAT) {
      float f = static_cast<float>(v[i]);
      memcpy(&raw[i * 4], &f, 4);
    } else {
      uint16_t b = to_bf16(static_cast<float>(v[i]));
      memcpy(&raw[i * 2], &b, 2);
    }
  }
  return raw;
}
static std::vector<double> decode(const std::vector<unsigned char>& raw) {
  std::vector<double> v(raw.size() / es());
  for (size_t i = 0; i < v.size(); ++i) {
    if (dtype == CUDNN_DATA_DOUBLE)
      memcpy(&v[i], &raw[i * 8], 8);
    else if (dtype == CUDNN_DATA_FLOAT) {
      float f;
      memcpy(&f, &raw[i * 4], 4);
      v[i] = f;
    } else {
      uint16_t b;
      memcpy(&b, &raw[i * 2], 2);
      uint32_t u = static_cast<uint32_t>(b) << 16;
      float f;
      memcpy(&f, &u, 4);
      v[i] = f;
    }
  }
  return v;
}
static void* upload(const std::vector<double>& v) {
  std::vector<unsigned char> raw = encode(v);
  void* p = nullptr;
  CU(cudaMalloc(&p, raw.size() ? raw.size() : 1));
  if (!raw.empty()) CU(cudaMemcpy(p, raw.data(), raw.size(), cudaMemcpyHostToDevice));
  return p;
}
static std::vector<double> download(const void* p, size_t n) {
  std::vector<unsigned char> raw(n * es());
  if (n) CU(cudaMemcpy(raw.data(), p, raw.size(), cudaMemcpyDeviceToHost));
  return decode(raw);
}

// ---------------------------------------------------------------- misuses the fake must refuse
static int failures = 0;
static void expect(cudnnStatus_t got, cudnnStatus_t want, const char* what) {
  char msg[1024];
  cudnnGetLastErrorString(msg, sizeof msg);
  const bool ok = got == want && (want == CUDNN_STATUS_SUCCESS || msg[0] != '\0');
  printf("%s %s: %s%s%s\n", ok ? "ok  " : "FAIL", what, cudnnGetErrorString(got),
         want == CUDNN_STATUS_SUCCESS ? "" : " / ", want == CUDNN_STATUS_SUCCESS ? "" : msg);
  failures += !ok;
}

static int errors() {
  dtype = CUDNN_DATA_FLOAT;
  const int I = 3, H = 4, B = 2, T = 3;
  cudnnHandle_t h;
  CK(cudnnCreate(&h));
  cudaStream_t dead;
  CU(cudaStreamCreate(&dead));
  CU(cudaStreamDestroy(dead));
  expect(cudnnSetStream(h, dead), CUDNN_STATUS_BAD_PARAM, "a destroyed stream");
  cudnnDropoutDescriptor_t drop;
  CK(cudnnCreateDropoutDescriptor(&drop));
  CK(cudnnSetDropoutDescriptor(drop, h, 0.f, nullptr, 0, 0));
  cudnnRNNDescriptor_t rnn;
  CK(cudnnCreateRNNDescriptor(&rnn));
  auto set = [&](cudnnRNNAlgo_t algo, cudnnRNNMode_t cell, int hidden, int proj) {
    return cudnnSetRNNDescriptor_v8(rnn, algo, cell, CUDNN_RNN_DOUBLE_BIAS, CUDNN_UNIDIRECTIONAL,
                                    CUDNN_LINEAR_INPUT, CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT,
                                    CUDNN_FMA_MATH, I, hidden, proj, 1, drop,
                                    CUDNN_RNN_PADDED_IO_ENABLED);
  };
  expect(set(CUDNN_RNN_ALGO_PERSIST_STATIC, CUDNN_LSTM, H, 2), CUDNN_STATUS_NOT_SUPPORTED,
         "projection with a persistent algorithm");
  expect(set(CUDNN_RNN_ALGO_STANDARD, CUDNN_GRU, H, 2), CUDNN_STATUS_BAD_PARAM,
         "projection with a GRU");
  CK(set(CUDNN_RNN_ALGO_STANDARD, CUDNN_GRU, H, H));
  size_t wbytes;
  CK(cudnnGetRNNWeightSpaceSize(h, rnn, &wbytes));
  void *w, *dw, *addr;
  CU(cudaMalloc(&w, wbytes));
  CU(cudaMalloc(&dw, wbytes));
  CU(cudaMemset(w, 0, wbytes));
  cudnnTensorDescriptor_t desc;
  CK(cudnnCreateTensorDescriptor(&desc));
  expect(cudnnGetRNNWeightParams(h, rnn, 0, wbytes, w, 6, desc, &addr, nullptr, nullptr),
         CUDNN_STATUS_BAD_PARAM, "GRU linLayerID 6");
  expect(cudnnGetRNNWeightParams(h, rnn, 1, wbytes, w, 0, desc, &addr, nullptr, nullptr),
         CUDNN_STATUS_BAD_PARAM, "pseudoLayer 1 of a one-layer RNN");
  expect(cudnnGetRNNWeightParams(h, rnn, 0, wbytes - 1, w, 0, desc, &addr, nullptr, nullptr),
         CUDNN_STATUS_BAD_PARAM, "weightSpaceSize too small");
  CK(set(CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM, H, H));
  CK(cudnnGetRNNWeightSpaceSize(h, rnn, &wbytes));
  CU(cudaFree(w));
  CU(cudaFree(dw));
  CU(cudaMalloc(&w, wbytes));
  CU(cudaMalloc(&dw, wbytes));
  CU(cudaMemset(w, 0, wbytes));
  CU(cudaMemset(dw, 0, wbytes));
  {
    cudnnDataType_t t;
    int nb = -1, dims[8], strides[8];
    void* baddr = w;
    addr = w;
    expect(cudnnGetRNNWeightParams(h, rnn, 0, wbytes, w, 8, desc, &addr, nullptr, &baddr),
           CUDNN_STATUS_SUCCESS, "LSTM linLayerID 8 without a projection");
    CK(cudnnGetTensorNdDescriptor(desc, 8, &t, &nb, dims, strides));
    if (addr || baddr || nb != 0) {
      printf("FAIL linLayerID 8 without a projection: address %p, bias %p, %d dims\n", addr, baddr,
             nb);
      ++failures;
    }
  }
  std::vector<int> lens = {3, 2};
  cudnnRNNDataDescriptor_t xd, yd;
  CK(cudnnCreateRNNDataDescriptor(&xd));
  CK(cudnnCreateRNNDataDescriptor(&yd));
  float zero = 0;
  std::vector<int> bad = {4, 1};
  expect(cudnnSetRNNDataDescriptor(xd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, I,
                                   bad.data(), &zero),
         CUDNN_STATUS_BAD_PARAM, "a length above maxSeqLength");
  std::vector<int> rising = {2, 3};
  expect(cudnnSetRNNDataDescriptor(xd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED, T, B, I,
                                   rising.data(), &zero),
         CUDNN_STATUS_BAD_PARAM, "packed layout, lengths not descending");
  CK(cudnnSetRNNDataDescriptor(xd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, I,
                               lens.data(), &zero));
  CK(cudnnSetRNNDataDescriptor(yd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, H,
                               lens.data(), &zero));
  cudnnTensorDescriptor_t hd;
  CK(cudnnCreateTensorDescriptor(&hd));
  int hdims[3] = {1, B, H}, hstr[3] = {B * H, H, 1};
  CK(cudnnSetTensorNdDescriptor(hd, dtype, 3, hdims, hstr));
  void* x = upload(std::vector<double>(static_cast<size_t>(T) * B * I, 0.25));
  void* y = upload(std::vector<double>(static_cast<size_t>(T) * B * H, 0));
  void* dy = upload(std::vector<double>(static_cast<size_t>(T) * B * H, 1));
  void* dx = upload(std::vector<double>(static_cast<size_t>(T) * B * I, 0));
  void* hx = upload(std::vector<double>(B * H, 0.5));
  void* hx2 = upload(std::vector<double>(B * H, 0.75));
  int32_t *dlens, *dwrong;
  CU(cudaMalloc(reinterpret_cast<void**>(&dlens), 4 * B));
  CU(cudaMalloc(reinterpret_cast<void**>(&dwrong), 4 * B));
  CU(cudaMemcpy(dlens, lens.data(), 4 * B, cudaMemcpyHostToDevice));
  CU(cudaMemcpy(dwrong, bad.data(), 4 * B, cudaMemcpyHostToDevice));
  size_t ws, rs, rs_inf;
  CK(cudnnGetRNNTempSpaceSizes(h, rnn, CUDNN_FWD_MODE_TRAINING, xd, &ws, &rs));
  CK(cudnnGetRNNTempSpaceSizes(h, rnn, CUDNN_FWD_MODE_INFERENCE, xd, nullptr, &rs_inf));
  if (rs_inf != 0) {
    printf("FAIL inference reserve size %zu\n", rs_inf);
    ++failures;
  }
  void *work, *reserve;
  CU(cudaMalloc(&work, ws));
  CU(cudaMalloc(&reserve, rs));
  auto fwd = [&](const int32_t* l, size_t wsize, void* yy, const void* xx) {
    return cudnnRNNForward(h, rnn, CUDNN_FWD_MODE_TRAINING, l, xd, xx, yd, yy, hd, hx, nullptr, hd,
                           nullptr, nullptr, wbytes, w, wsize, work, rs, reserve);
  };
  expect(fwd(lens.data(), ws, y, x), CUDNN_STATUS_BAD_PARAM, "devSeqLengths in host memory");
  expect(fwd(dwrong, ws, y, x), CUDNN_STATUS_BAD_PARAM, "devSeqLengths differing from the lengths");
  expect(fwd(dlens, ws - 1, y, x), CUDNN_STATUS_BAD_PARAM, "workSpaceSize too small");
  {
    void* both = upload(std::vector<double>(static_cast<size_t>(T) * B * (I + H), 0.25));
    expect(fwd(dlens, ws, static_cast<float*>(both) + I, both), CUDNN_STATUS_BAD_PARAM,
           "y overlapping x");
    CU(cudaFree(both));
  }
  expect(cudnnRNNForward(h, rnn, CUDNN_FWD_MODE_INFERENCE, dlens, xd, x, yd, y, hd, hx, nullptr, hd,
                         nullptr, nullptr, wbytes, w, ws, work, 0, nullptr),
         CUDNN_STATUS_SUCCESS, "inference without a reserve space");
  expect(fwd(dlens, ws, y, x), CUDNN_STATUS_SUCCESS, "training forward");
  {
    std::vector<unsigned char> raw(ws);
    CU(cudaMemcpy(raw.data(), work, ws, cudaMemcpyDeviceToHost));
    if (std::any_of(raw.begin(), raw.end(), [](unsigned char c) { return c != 0xFF; })) {
      printf("FAIL the work space is not NaN after the call\n");
      ++failures;
    }
  }
  auto bwd_w = [&](cudnnWgradMode_t mode, const void* h0) {
    return cudnnRNNBackwardWeights_v8(h, rnn, mode, dlens, xd, x, hd, h0, yd, y, wbytes, dw, ws,
                                      work, rs, reserve);
  };
  auto bwd_d = [&](const void* h0) {
    return cudnnRNNBackwardData_v8(h, rnn, dlens, yd, y, dy, xd, dx, hd, h0, nullptr, nullptr, hd,
                                   nullptr, nullptr, nullptr, wbytes, w, ws, work, rs, reserve);
  };
  expect(bwd_w(CUDNN_WGRAD_MODE_ADD, hx), CUDNN_STATUS_BAD_PARAM,
         "backward weights before backward data");
  expect(bwd_d(hx2), CUDNN_STATUS_BAD_PARAM, "backward data with another hx");
  expect(bwd_d(hx), CUDNN_STATUS_SUCCESS, "backward data");
  expect(bwd_w(CUDNN_WGRAD_MODE_SET, hx), CUDNN_STATUS_NOT_SUPPORTED, "CUDNN_WGRAD_MODE_SET");
  expect(bwd_w(CUDNN_WGRAD_MODE_ADD, hx), CUDNN_STATUS_SUCCESS, "backward weights");
  CU(cudaMemset(static_cast<char*>(reserve) + rs / 2, 0x7F, 4));
  expect(bwd_w(CUDNN_WGRAD_MODE_ADD, hx), CUDNN_STATUS_BAD_PARAM, "a modified reserve space");

  CK(set(CUDNN_RNN_ALGO_PERSIST_DYNAMIC, CUDNN_LSTM, H, H));
  std::vector<int> full = {T, T};
  CK(cudnnSetRNNDataDescriptor(xd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, I,
                               full.data(), &zero));
  CK(cudnnSetRNNDataDescriptor(yd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, H,
                               full.data(), &zero));
  CU(cudaMemcpy(dlens, full.data(), 4 * B, cudaMemcpyHostToDevice));
  expect(fwd(dlens, ws, y, x), CUDNN_STATUS_BAD_PARAM, "PERSIST_DYNAMIC without a build");
  CK(cudnnBuildRNNDynamic(h, rnn, B + 1));
  expect(fwd(dlens, ws, y, x), CUDNN_STATUS_BAD_PARAM, "PERSIST_DYNAMIC built for another batch");
  CK(cudnnBuildRNNDynamic(h, rnn, B));
  expect(fwd(dlens, ws, y, x), CUDNN_STATUS_SUCCESS, "PERSIST_DYNAMIC built");
  CK(cudnnSetRNNDataDescriptor(xd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, I,
                               lens.data(), &zero));
  CK(cudnnSetRNNDataDescriptor(yd, dtype, CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, T, B, H,
                               lens.data(), &zero));
  CU(cudaMemcpy(dlens, lens.data(), 4 * B, cudaMemcpyHostToDevice));
  expect(fwd(dlens, ws, y, x), CUDNN_STATUS_BAD_PARAM, "PERSIST_DYNAMIC with variable lengths");
  printf("%s\n", failures ? "some misuses were not refused as expected" : "every misuse refused");
  return failures ? 1 : 0;
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  if (std::string(argv[1]) == "--errors") return errors();
  dir = argv[1];
  std::ifstream cfgf(dir + "/cfg.txt");
  int cell, L, D, I, H, P, T, B, bias, dt, layout, algo;
  cfgf >> cell >> L >> D >> I >> H >> P >> T >> B >> bias >> dt >> layout >> algo;
  dtype = static_cast<cudnnDataType_t>(dt);
  std::vector<int> lens(B);
  for (int& l : lens) cfgf >> l;
  struct Param {
    std::string name;
    int pl;
    std::string kind;
    int rows, cols;
  };
  std::vector<Param> params;
  for (Param p; cfgf >> p.name >> p.pl >> p.kind >> p.rows >> p.cols;) params.push_back(p);
  const int G = cell == CUDNN_LSTM ? 4 : cell == CUDNN_GRU ? 3 : 1;

  cudnnHandle_t h;
  CK(cudnnCreate(&h));
  cudaStream_t stream;
  CU(cudaStreamCreate(&stream));
  CK(cudnnSetStream(h, stream));
  cudnnDropoutDescriptor_t drop;
  CK(cudnnCreateDropoutDescriptor(&drop));
  CK(cudnnSetDropoutDescriptor(drop, h, 0.f, nullptr, 0, 0));
  cudnnRNNDescriptor_t rnn;
  CK(cudnnCreateRNNDescriptor(&rnn));
  const cudnnDataType_t prec = dtype == CUDNN_DATA_DOUBLE ? CUDNN_DATA_DOUBLE : CUDNN_DATA_FLOAT;
  CK(cudnnSetRNNDescriptor_v8(
      rnn, static_cast<cudnnRNNAlgo_t>(algo), static_cast<cudnnRNNMode_t>(cell),
      bias ? CUDNN_RNN_DOUBLE_BIAS : CUDNN_RNN_NO_BIAS,
      D == 2 ? CUDNN_BIDIRECTIONAL : CUDNN_UNIDIRECTIONAL, CUDNN_LINEAR_INPUT, dtype, prec,
      dtype == CUDNN_DATA_DOUBLE ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, I, H, P, L, drop,
      CUDNN_RNN_PADDED_IO_ENABLED));
  if (algo == CUDNN_RNN_ALGO_PERSIST_DYNAMIC) CK(cudnnBuildRNNDynamic(h, rnn, B));
  size_t wbytes;
  CK(cudnnGetRNNWeightSpaceSize(h, rnn, &wbytes));
  void *w, *dw;
  CU(cudaMalloc(&w, wbytes));
  CU(cudaMalloc(&dw, wbytes));
  CU(cudaMemset(dw, 0, wbytes));
  cudnnTensorDescriptor_t desc;
  CK(cudnnCreateTensorDescriptor(&desc));
  // The address of PyTorch parameter p's gate slice g in the weight space (and its element count).
  auto where = [&](void* space, const Param& p, int g, size_t* n) {
    void* addr = nullptr;
    const int lin = p.kind == "W" || p.kind == "bW" ? g : p.kind == "proj" ? 8 : G + g;
    const bool matrix = p.kind == "W" || p.kind == "R" || p.kind == "proj";
    if (matrix)
      CK(cudnnGetRNNWeightParams(h, rnn, p.pl, wbytes, space, lin, desc, &addr, nullptr, nullptr));
    else
      CK(cudnnGetRNNWeightParams(h, rnn, p.pl, wbytes, space, lin, nullptr, nullptr, desc, &addr));
    cudnnDataType_t t;
    int nb, dims[8], strides[8];
    CK(cudnnGetTensorNdDescriptor(desc, 8, &t, &nb, dims, strides));
    *n = 1;
    for (int i = 0; i < nb; ++i) *n *= dims[i];
    if (!addr || nb != 3) {
      fprintf(stderr, "no block for %s\n", p.name.c_str());
      exit(1);
    }
    return addr;
  };
  for (const Param& p : params) {
    const std::vector<double> v = read_f64(p.name + ".bin");
    const int parts = p.kind == "proj" ? 1 : G;
    const size_t per = v.size() / parts;
    for (int g = 0; g < parts; ++g) {
      size_t n;
      void* a = where(w, p, g, &n);
      if (n != per) {
        fprintf(stderr, "%s: block of %zu, slice of %zu\n", p.name.c_str(), n, per);
        exit(1);
      }
      std::vector<unsigned char> raw =
          encode(std::vector<double>(v.begin() + g * per, v.begin() + (g + 1) * per));
      CU(cudaMemcpy(a, raw.data(), raw.size(), cudaMemcpyHostToDevice));
    }
  }

  // x, dy arrive time-major padded [T,B,V]; laid out as `layout` asks.
  auto to_layout = [&](const std::vector<double>& tm, int V) {
    std::vector<double> out;
    if (layout == CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED) return tm;
    if (layout == CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED) {
      out.assign(tm.size(), 0);
      for (int t = 0; t < T; ++t)
        for (int b = 0; b < B; ++b)
          for (int v = 0; v < V; ++v)
            out[(static_cast<size_t>(b) * T + t) * V + v] =
                tm[(static_cast<size_t>(t) * B + b) * V + v];
      return out;
    }
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b)
        if (t < lens[b])
          for (int v = 0; v < V; ++v) out.push_back(tm[(static_cast<size_t>(t) * B + b) * V + v]);
    return out;
  };
  auto from_layout = [&](const std::vector<double>& l, int V) {
    std::vector<double> tm(static_cast<size_t>(T) * B * V, 0);
    size_t k = 0;
    for (int t = 0; t < T; ++t)
      for (int b = 0; b < B; ++b)
        for (int v = 0; v < V; ++v) {
          const size_t dst = (static_cast<size_t>(t) * B + b) * V + v;
          if (layout == CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED)
            tm[dst] = l[dst];
          else if (layout == CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED)
            tm[dst] = l[(static_cast<size_t>(b) * T + t) * V + v];
          else if (t < lens[b])
            tm[dst] = l[k++];
        }
    return tm;
  };
  const int Y = P * D;
  cudnnRNNDataDescriptor_t xd, yd;
  CK(cudnnCreateRNNDataDescriptor(&xd));
  CK(cudnnCreateRNNDataDescriptor(&yd));
  double fill =
      -7.0;  // read as dtype: only its first bytes matter for f32/bf16, so use exact values
  float fill32 = -7.0f;
  uint16_t fill16 = to_bf16(-7.0f);
  void* fillp = dtype == CUDNN_DATA_DOUBLE  ? static_cast<void*>(&fill)
                : dtype == CUDNN_DATA_FLOAT ? static_cast<void*>(&fill32)
                                            : static_cast<void*>(&fill16);
  CK(cudnnSetRNNDataDescriptor(xd, dtype, static_cast<cudnnRNNDataLayout_t>(layout), T, B, I,
                               lens.data(), fillp));
  CK(cudnnSetRNNDataDescriptor(yd, dtype, static_cast<cudnnRNNDataLayout_t>(layout), T, B, Y,
                               lens.data(), fillp));
  cudnnTensorDescriptor_t hd, cd;
  CK(cudnnCreateTensorDescriptor(&hd));
  CK(cudnnCreateTensorDescriptor(&cd));
  int hdims[3] = {L * D, B, P}, hstr[3] = {B * P, P, 1}, cdims[3] = {L * D, B, H},
      cstr[3] = {B * H, H, 1};
  CK(cudnnSetTensorNdDescriptor(hd, dtype, 3, hdims, hstr));
  CK(cudnnSetTensorNdDescriptor(cd, dtype, 3, cdims, cstr));
  int32_t* dlens;
  CU(cudaMalloc(reinterpret_cast<void**>(&dlens), 4 * B));
  CU(cudaMemcpy(dlens, lens.data(), 4 * B, cudaMemcpyHostToDevice));

  void* x = upload(to_layout(read_f64("x.bin"), I));
  const size_t xn = to_layout(read_f64("x.bin"), I).size(), yn = xn / I * Y;
  void* y = upload(std::vector<double>(yn, 0));
  void* hx = upload(read_f64("hx.bin"));
  void* cx = upload(read_f64("cx.bin"));
  const size_t hn = static_cast<size_t>(L) * D * B * P, cn = static_cast<size_t>(L) * D * B * H;
  void* hy = upload(std::vector<double>(hn, 0));
  void* cy = upload(std::vector<double>(cn, 0));
  size_t ws, rs;
  CK(cudnnGetRNNTempSpaceSizes(h, rnn, CUDNN_FWD_MODE_TRAINING, xd, &ws, &rs));
  void *work, *reserve;
  CU(cudaMalloc(&work, ws));
  CU(cudaMalloc(&reserve, rs));
  const bool lstm = cell == CUDNN_LSTM;
  CK(cudnnRNNForward(h, rnn, CUDNN_FWD_MODE_TRAINING, dlens, xd, x, yd, y, hd, hx, hy, cd,
                     lstm ? cx : nullptr, lstm ? cy : nullptr, wbytes, w, ws, work, rs, reserve));
  write_f64("out_y.bin", from_layout(download(y, yn), Y));
  write_f64("out_hy.bin", download(hy, hn));
  if (lstm) write_f64("out_cy.bin", download(cy, cn));
  // The padding must hold paddingFill.
  {
    const std::vector<double> yl = download(y, yn);
    if (layout != CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_PACKED)
      for (int t = 0; t < T; ++t)
        for (int b = 0; b < B; ++b)
          if (t >= lens[b]) {
            const size_t i = layout == 0 ? (static_cast<size_t>(t) * B + b) * Y
                                         : (static_cast<size_t>(b) * T + t) * Y;
            if (yl[i] != -7.0) {
              fprintf(stderr, "padding of y at t=%d b=%d is %g\n", t, b, yl[i]);
              exit(1);
            }
          }
  }

  void* dy = upload(to_layout(read_f64("dy.bin"), Y));
  void* dhy = upload(read_f64("dhy.bin"));
  void* dcy = upload(read_f64("dcy.bin"));
  void* dx = upload(std::vector<double>(xn, 0));
  void* dhx = upload(std::vector<double>(hn, 0));
  void* dcx = upload(std::vector<double>(cn, 0));
  CK(cudnnRNNBackwardData_v8(h, rnn, dlens, yd, y, dy, xd, dx, hd, hx, dhy, dhx, cd,
                             lstm ? cx : nullptr, lstm ? dcy : nullptr, lstm ? dcx : nullptr,
                             wbytes, w, ws, work, rs, reserve));
  CK(cudnnRNNBackwardWeights_v8(h, rnn, CUDNN_WGRAD_MODE_ADD, dlens, xd, x, hd, hx, yd, y, wbytes,
                                dw, ws, work, rs, reserve));
  write_f64("out_dx.bin", from_layout(download(dx, xn), I));
  write_f64("out_dhx.bin", download(dhx, hn));
  if (lstm) write_f64("out_dcx.bin", download(dcx, cn));
  for (const Param& p : params) {
    const int parts = p.kind == "proj" ? 1 : G;
    std::vector<double> g;
    for (int k = 0; k < parts; ++k) {
      size_t n;
      void* a = where(dw, p, k, &n);
      const std::vector<double> part = download(a, n);
      g.insert(g.end(), part.begin(), part.end());
    }
    write_f64("out_grad_" + p.name + ".bin", g);
  }
  return 0;
}
