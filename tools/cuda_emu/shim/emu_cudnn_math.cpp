// The fake cuDNN's RNN math on the host (README.md), with the cell equations of the cuDNN API
// reference (cudnnRNNMode_t) and the gate order of cudnnGetRNNWeightParams' linLayerID:
//   RELU/TANH  h = act(W x + bW + R h' + bR)
//   LSTM       i, f, o = sigmoid(W x + bW + R h' + bR), c~ = tanh(...), c = f c' + i c~,
//              h = o tanh(c); with a projection r = Wr h is the output and the recurrent state
//   GRU        r, z = sigmoid(W x + bW + R h' + bR), h~ = tanh(W x + bW + r (R h' + bR)),
//              h = (1 - z) h~ + z h'
// each direction over each sequence's own length (the reverse one from its last valid step), the
// layers stacked (a bidirectional layer's input is both directions' outputs), and their gradients.
// Computed in double for double data, in float otherwise (GEMM operands rounded to TF32 or half
// where the math type lets cuDNN use tensor cores, results to half with half math precision,
// states and every stored intermediate rounded to the data type).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "emu_cudnn.h"

namespace emu_cudnn {

// ---------------------------------------------------------------- numbers
uint16_t float_to_half(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000u, abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u);   // NaN
  if (abs >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // rounds to infinity
  if (abs < 0x38800000u) {                                               // a subnormal half
    float v;
    memcpy(&v, &abs, 4);
    return static_cast<uint16_t>(sign | static_cast<uint32_t>(std::nearbyint(v * 16777216.0f)));
  }
  const uint32_t r = abs + 0xc8000fffu + ((abs >> 13) & 1u);  // rebias 127 -> 15, round to even
  return static_cast<uint16_t>(sign | (r >> 13));
}
float half_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 31u, m = h & 1023u;
  if (e == 0) {
    const float v = static_cast<float>(m) * 5.9604644775390625e-08f;
    return sign ? -v : v;
  }
  const uint32_t u =
      e == 31 ? (sign | 0x7f800000u | (m << 13)) : (sign | ((e + 112) << 23) | (m << 13));
  float f;
  memcpy(&f, &u, 4);
  return f;
}
uint16_t float_to_bf16(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}
float bf16_to_float(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
float tf32(float x) {  // round to nearest even on the 13 dropped mantissa bits
  uint32_t u;
  memcpy(&u, &x, 4);
  if ((u & 0x7f800000u) != 0x7f800000u) u = (u + 0xfffu + ((u >> 13) & 1u)) & ~0x1fffu;
  memcpy(&x, &u, 4);
  return x;
}

double load(const unsigned char* p, cudnnDataType_t t, size_t i) {
  switch (t) {
    case CUDNN_DATA_DOUBLE: {
      double v;
      memcpy(&v, p + i * 8, 8);
      return v;
    }
    case CUDNN_DATA_FLOAT: {
      float v;
      memcpy(&v, p + i * 4, 4);
      return v;
    }
    default: {
      uint16_t v;
      memcpy(&v, p + i * 2, 2);
      return t == CUDNN_DATA_HALF ? half_to_float(v) : bf16_to_float(v);
    }
  }
}
void store(unsigned char* p, cudnnDataType_t t, size_t i, double v) {
  switch (t) {
    case CUDNN_DATA_DOUBLE:
      memcpy(p + i * 8, &v, 8);
      break;
    case CUDNN_DATA_FLOAT: {
      const float f = static_cast<float>(v);
      memcpy(p + i * 4, &f, 4);
      break;
    }
    default: {
      const float f = static_cast<float>(v);
      const uint16_t b = t == CUDNN_DATA_HALF ? float_to_half(f) : float_to_bf16(f);
      memcpy(p + i * 2, &b, 2);
    }
  }
}
double round_to(cudnnDataType_t t, double v) {
  switch (t) {
    case CUDNN_DATA_DOUBLE:
      return v;
    case CUDNN_DATA_FLOAT:
      return static_cast<float>(v);
    case CUDNN_DATA_HALF:
      return half_to_float(float_to_half(static_cast<float>(v)));
    default:
      return bf16_to_float(float_to_bf16(static_cast<float>(v)));
  }
}
namespace {

// ---------------------------------------------------------------- GEMM (row-major, beta 0)
void gemm(bool ta, bool tb, int M, int N, int K, const float* A, int lda, const float* B, int ldb,
          float* C, int ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int i = 0; i < M; ++i)
      std::fill(C + static_cast<size_t>(i) * ldc, C + static_cast<size_t>(i) * ldc + N, 0.f);
    return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
              K, 1.f, A, lda, B, ldb, 0.f, C, ldc);
}
void gemm(bool ta, bool tb, int M, int N, int K, const double* A, int lda, const double* B, int ldb,
          double* C, int ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int i = 0; i < M; ++i)
      std::fill(C + static_cast<size_t>(i) * ldc, C + static_cast<size_t>(i) * ldc + N, 0.0);
    return;
  }
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N,
              K, 1.0, A, lda, B, ldb, 0.0, C, ldc);
}

template <class C>
C sigmoid(C v) {
  return C(1) / (C(1) + std::exp(-v));
}

}  // namespace

// x [T,B,I] dense, hx/cx [L*D,B,P]/[L*D,B,H]; y [T,B,P*D], hy, cy. Fills m.res's forward region.
template <class C>
void run_forward(Model<C>& m, const std::vector<C>& x, const std::vector<C>& hx,
                 const std::vector<C>& cx, std::vector<C>& y, std::vector<C>& hy,
                 std::vector<C>& cy) {
  const int G = m.G, D = m.D, H = m.H, P = m.P, T = m.T, B = m.B, GH = G * H;
  const std::vector<int>& lens = m.xd.lens;
  std::vector<C> in = x;
  int in_dim = m.r.I;
  std::vector<C> Wc, Rc, Wr, X, Hp, GX, GR, HPRE, OUT;
  for (int l = 0; l < m.L; ++l) {
    std::vector<C> out(static_cast<size_t>(T) * B * P * D, C(0));
    for (int d = 0; d < D; ++d) {
      const int pl = l * D + d;
      m.operands(pl, in_dim, Wc, Rc, Wr);
      for (int k = 0; k < T; ++k) {
        const std::vector<int> act = m.active(k);
        const int nb = static_cast<int>(act.size());
        if (nb == 0) break;
        X.assign(static_cast<size_t>(nb) * in_dim, C(0));
        Hp.assign(static_cast<size_t>(nb) * P, C(0));
        std::vector<const C*> hprev(nb), cprev(nb);
        for (int i = 0; i < nb; ++i) {
          const int b = act[i], t = m.t_of(d, k, b), tp = m.t_prev(d, k, b);
          const C* xin = &in[(static_cast<size_t>(t) * B + b) * in_dim];
          for (int v = 0; v < in_dim; ++v) X[static_cast<size_t>(i) * in_dim + v] = m.gr(xin[v]);
          hprev[i] =
              tp < 0 ? &hx[(static_cast<size_t>(pl) * B + b) * P] : m.fwd(l, d, tp, b) + m.f_out();
          if (m.lstm)
            cprev[i] =
                tp < 0 ? &cx[(static_cast<size_t>(pl) * B + b) * H] : m.fwd(l, d, tp, b) + m.f_c();
          for (int p = 0; p < P; ++p) Hp[static_cast<size_t>(i) * P + p] = m.gr(hprev[i][p]);
        }
        GX.resize(static_cast<size_t>(nb) * GH);
        GR.resize(static_cast<size_t>(nb) * GH);
        gemm(false, true, nb, GH, in_dim, X.data(), in_dim, Wc.data(), in_dim, GX.data(), GH);
        gemm(false, true, nb, GH, P, Hp.data(), P, Rc.data(), P, GR.data(), GH);
        HPRE.assign(static_cast<size_t>(nb) * H, C(0));
        OUT.assign(static_cast<size_t>(nb) * P, C(0));
        for (int i = 0; i < nb; ++i) {
          const int b = act[i], t = m.t_of(d, k, b);
          C* f = m.fwd(l, d, t, b);
          const C* gx = &GX[static_cast<size_t>(i) * GH];
          const C* gh = &GR[static_cast<size_t>(i) * GH];
          // The persistent algorithms add the four terms in another order, so that (as on a GPU,
          // where each algorithm has its own kernels) their results differ from STANDARD's in
          // the last bits and a test can tell which algorithm ran.
          const bool standard = m.r.algo == CUDNN_RNN_ALGO_STANDARD;
          auto pre = [&](int g, int j) {
            const C bw = m.bias(pl, g, j), br = m.bias(pl, G + g, j);
            return m.mp(standard ? (gx[g * H + j] + bw) + (gh[g * H + j] + br)
                                 : ((gx[g * H + j] + gh[g * H + j]) + bw) + br);
          };
          for (int j = 0; j < H; ++j) {
            if (m.lstm) {
              const C ig = m.mp(sigmoid(pre(0, j))), fg = m.mp(sigmoid(pre(1, j)));
              const C gg = m.mp(std::tanh(pre(2, j))), og = m.mp(sigmoid(pre(3, j)));
              const C c = m.st(m.mp(fg * cprev[i][j] + ig * gg));
              const C h = m.st(m.mp(og * std::tanh(c)));
              f[0 * H + j] = m.st(ig);
              f[1 * H + j] = m.st(fg);
              f[2 * H + j] = m.st(gg);
              f[3 * H + j] = m.st(og);
              f[m.f_c() + j] = c;
              f[m.f_hpre() + j] = h;
              if (m.proj)
                HPRE[static_cast<size_t>(i) * H + j] = m.gr(h);
              else
                OUT[static_cast<size_t>(i) * P + j] = h;
            } else if (m.gru) {  // linear layers 0 r, 1 z (cuDNN's i), 2 h~
              const C rg = m.mp(sigmoid(pre(0, j))), zg = m.mp(sigmoid(pre(1, j)));
              const C rh = m.mp(gh[2 * H + j] + m.bias(pl, G + 2, j));
              const C ng = m.mp(std::tanh(m.mp(gx[2 * H + j] + m.bias(pl, 2, j) + rg * rh)));
              const C h = m.st(m.mp((C(1) - zg) * ng + zg * hprev[i][j]));
              f[0 * H + j] = m.st(rg);
              f[1 * H + j] = m.st(zg);
              f[2 * H + j] = m.st(ng);
              f[m.f_rh() + j] = m.st(rh);
              OUT[static_cast<size_t>(i) * P + j] = h;
            } else {
              const C a = pre(0, j);
              const C h = m.st(m.r.cell == CUDNN_RNN_TANH ? std::tanh(a) : (a > C(0) ? a : C(0)));
              f[j] = h;
              OUT[static_cast<size_t>(i) * P + j] = h;
            }
          }
        }
        if (m.proj) {
          gemm(false, true, nb, P, H, HPRE.data(), H, Wr.data(), H, OUT.data(), P);
          for (C& v : OUT) v = m.st(v);
        }
        for (int i = 0; i < nb; ++i) {
          const int b = act[i], t = m.t_of(d, k, b);
          C* f = m.fwd(l, d, t, b);
          C* o = &out[(static_cast<size_t>(t) * B + b) * P * D + static_cast<size_t>(d) * P];
          for (int p = 0; p < P; ++p) f[m.f_out() + p] = o[p] = OUT[static_cast<size_t>(i) * P + p];
        }
      }
      // The final states: after each sequence's last step in this direction (t = len-1 forwards,
      // t = 0 backwards); a sequence of length 0 keeps its initial state.
      for (int b = 0; b < B; ++b) {
        const size_t hs = (static_cast<size_t>(pl) * B + b) * P,
                     cs = (static_cast<size_t>(pl) * B + b) * H;
        if (lens[b] == 0) {
          std::copy(&hx[hs], &hx[hs] + P, &hy[hs]);
          if (m.lstm) std::copy(&cx[cs], &cx[cs] + H, &cy[cs]);
          continue;
        }
        const C* f = m.fwd(l, d, d == 0 ? lens[b] - 1 : 0, b);
        std::copy(f + m.f_out(), f + m.f_out() + P, &hy[hs]);
        if (m.lstm) std::copy(f + m.f_c(), f + m.f_c() + H, &cy[cs]);
      }
    }
    in = std::move(out);
    in_dim = P * D;
  }
  y = std::move(in);
}

// dy [T,B,P*D], dhy/dcy like hx/cx; dx [T,B,I], dhx, dcx. Needs m.res's forward region; fills its
// backward region.
template <class C>
void run_backward_data(Model<C>& m, const std::vector<C>& dy, const std::vector<C>& hx,
                       const std::vector<C>& cx, const std::vector<C>& dhy,
                       const std::vector<C>& dcy, std::vector<C>& dx, std::vector<C>& dhx,
                       std::vector<C>& dcx) {
  const int G = m.G, D = m.D, H = m.H, P = m.P, T = m.T, B = m.B, GH = G * H;
  std::vector<C> dY = dy;
  std::vector<C> Wc, Rc, Wr, DOUT, DHPRE, DWS, DRS, DIRECT, DHP, DIN;
  for (int l = m.L - 1; l >= 0; --l) {
    const int in_dim = layer_input(m.r, l);
    std::vector<C> dIn(static_cast<size_t>(T) * B * in_dim, C(0));
    for (int d = 0; d < D; ++d) {
      const int pl = l * D + d;
      m.operands(pl, in_dim, Wc, Rc, Wr);
      std::vector<C> dh(&dhy[static_cast<size_t>(pl) * B * P],
                        &dhy[static_cast<size_t>(pl + 1) * B * P]);
      std::vector<C> dc;
      if (m.lstm)
        dc.assign(&dcy[static_cast<size_t>(pl) * B * H], &dcy[static_cast<size_t>(pl + 1) * B * H]);
      for (int k = T - 1; k >= 0; --k) {
        const std::vector<int> act = m.active(k);
        const int nb = static_cast<int>(act.size());
        if (nb == 0) continue;
        DOUT.assign(static_cast<size_t>(nb) * P, C(0));
        for (int i = 0; i < nb; ++i) {
          const int b = act[i], t = m.t_of(d, k, b);
          const C* g = &dY[(static_cast<size_t>(t) * B + b) * P * D + static_cast<size_t>(d) * P];
          for (int p = 0; p < P; ++p)
            DOUT[static_cast<size_t>(i) * P + p] = m.st(g[p] + dh[static_cast<size_t>(b) * P + p]);
        }
        DHPRE.assign(static_cast<size_t>(nb) * H, C(0));
        if (m.proj) {
          std::vector<C> op(DOUT.size());
          for (size_t q = 0; q < DOUT.size(); ++q) op[q] = m.gr(DOUT[q]);
          gemm(false, false, nb, H, P, op.data(), P, Wr.data(), H, DHPRE.data(), H);
        } else {
          DHPRE = DOUT;
        }
        DWS.assign(static_cast<size_t>(nb) * GH, C(0));
        DRS.assign(static_cast<size_t>(nb) * GH, C(0));
        DIRECT.assign(static_cast<size_t>(nb) * P, C(0));
        for (int i = 0; i < nb; ++i) {
          const int b = act[i], t = m.t_of(d, k, b), tp = m.t_prev(d, k, b);
          C* f = m.fwd(l, d, t, b);
          C* bw = m.bwd(l, d, t, b);
          const C* hprev =
              tp < 0 ? &hx[(static_cast<size_t>(pl) * B + b) * P] : m.fwd(l, d, tp, b) + m.f_out();
          C* dws = &DWS[static_cast<size_t>(i) * GH];
          C* drs = &DRS[static_cast<size_t>(i) * GH];
          for (int j = 0; j < H; ++j) {
            const C dhp = DHPRE[static_cast<size_t>(i) * H + j];
            if (m.lstm) {
              const C* cp = tp < 0 ? &cx[(static_cast<size_t>(pl) * B + b) * H]
                                   : m.fwd(l, d, tp, b) + m.f_c();
              const C ig = f[j], fg = f[H + j], gg = f[2 * H + j], og = f[3 * H + j];
              const C tc = std::tanh(f[m.f_c() + j]);
              C& dcs = dc[static_cast<size_t>(b) * H + j];
              const C dct = dcs + dhp * og * (C(1) - tc * tc);
              dws[j] = dct * gg * ig * (C(1) - ig);
              dws[H + j] = dct * cp[j] * fg * (C(1) - fg);
              dws[2 * H + j] = dct * ig * (C(1) - gg * gg);
              dws[3 * H + j] = dhp * tc * og * (C(1) - og);
              for (int g = 0; g < 4; ++g) drs[g * H + j] = dws[g * H + j];
              dcs = m.st(dct * fg);
            } else if (m.gru) {
              const C rg = f[j], zg = f[H + j], ng = f[2 * H + j], rh = f[m.f_rh() + j];
              const C dpn = dhp * (C(1) - zg) * (C(1) - ng * ng);
              const C dpz = dhp * (hprev[j] - ng) * zg * (C(1) - zg);
              const C dpr = dpn * rh * rg * (C(1) - rg);
              dws[j] = drs[j] = dpr;
              dws[H + j] = drs[H + j] = dpz;
              dws[2 * H + j] = dpn;
              drs[2 * H + j] = dpn * rg;
              DIRECT[static_cast<size_t>(i) * P + j] = dhp * zg;
            } else {
              const C h = f[j];
              const C dp =
                  m.r.cell == CUDNN_RNN_TANH ? dhp * (C(1) - h * h) : (h > C(0) ? dhp : C(0));
              dws[j] = drs[j] = dp;
            }
          }
          for (int q = 0; q < GH; ++q) {
            dws[q] = m.st(dws[q]);
            drs[q] = m.st(drs[q]);
          }
          std::copy(dws, dws + GH, bw);
          std::copy(drs, drs + GH, bw + m.b_rec());
          if (m.proj)
            std::copy(&DOUT[static_cast<size_t>(i) * P], &DOUT[static_cast<size_t>(i) * P] + P,
                      bw + m.b_out());
        }
        std::vector<C> ws(DWS.size()), rs(DRS.size());
        for (size_t q = 0; q < DWS.size(); ++q) {
          ws[q] = m.gr(DWS[q]);
          rs[q] = m.gr(DRS[q]);
        }
        DHP.resize(static_cast<size_t>(nb) * P);
        DIN.resize(static_cast<size_t>(nb) * in_dim);
        gemm(false, false, nb, P, GH, rs.data(), GH, Rc.data(), P, DHP.data(), P);
        gemm(false, false, nb, in_dim, GH, ws.data(), GH, Wc.data(), in_dim, DIN.data(), in_dim);
        for (int i = 0; i < nb; ++i) {
          const int b = act[i], t = m.t_of(d, k, b);
          for (int p = 0; p < P; ++p)
            dh[static_cast<size_t>(b) * P + p] =
                m.st(DHP[static_cast<size_t>(i) * P + p] + DIRECT[static_cast<size_t>(i) * P + p]);
          C* di = &dIn[(static_cast<size_t>(t) * B + b) * in_dim];
          for (int v = 0; v < in_dim; ++v) di[v] += DIN[static_cast<size_t>(i) * in_dim + v];
        }
      }
      std::copy(dh.begin(), dh.end(), &dhx[static_cast<size_t>(pl) * B * P]);
      if (m.lstm) std::copy(dc.begin(), dc.end(), &dcx[static_cast<size_t>(pl) * B * H]);
    }
    for (C& v : dIn) v = m.st(v);
    dY = std::move(dIn);
  }
  dx = std::move(dY);
}

// Weight gradients from the reserve space (both regions), x [T,B,I] and hx: added into dw (the
// weight space's values).
template <class C>
void run_backward_weights(Model<C>& m, const std::vector<C>& x, const std::vector<C>& hx,
                          std::vector<C>& dw) {
  const int G = m.G, D = m.D, H = m.H, P = m.P, B = m.B, GH = G * H;
  const std::vector<int>& lens = m.xd.lens;
  size_t N = 0;
  for (int len : lens) N += len;
  if (N == 0) return;
  const int n = static_cast<int>(N);
  std::vector<C> IN, HP, DWS, DRS, DPROJ, HPRE, dWc, dRc, dWr;
  for (int l = 0; l < m.L; ++l) {
    const int in_dim = layer_input(m.r, l);
    for (int d = 0; d < D; ++d) {
      const int pl = l * D + d;
      IN.assign(N * in_dim, C(0));
      HP.assign(N * P, C(0));
      DWS.assign(N * GH, C(0));
      DRS.assign(N * GH, C(0));
      DPROJ.assign(m.proj ? N * P : 0, C(0));
      HPRE.assign(m.proj ? N * H : 0, C(0));
      std::vector<C> dbW(GH, C(0)), dbR(GH, C(0));
      size_t row = 0;
      for (int b = 0; b < B; ++b)
        for (int k = 0; k < lens[b]; ++k, ++row) {
          const int t = m.t_of(d, k, b), tp = m.t_prev(d, k, b);
          C* in = &IN[row * in_dim];
          if (l == 0) {
            const C* xs = &x[(static_cast<size_t>(t) * B + b) * m.r.I];
            for (int v = 0; v < in_dim; ++v) in[v] = m.gr(xs[v]);
          } else {
            for (int dd = 0; dd < D; ++dd) {
              const C* o = m.fwd(l - 1, dd, t, b) + m.f_out();
              for (int p = 0; p < P; ++p) in[dd * P + p] = m.gr(o[p]);
            }
          }
          const C* hp =
              tp < 0 ? &hx[(static_cast<size_t>(pl) * B + b) * P] : m.fwd(l, d, tp, b) + m.f_out();
          for (int p = 0; p < P; ++p) HP[row * P + p] = m.gr(hp[p]);
          const C* bw = m.bwd(l, d, t, b);
          for (int q = 0; q < GH; ++q) {
            DWS[row * GH + q] = m.gr(bw[q]);
            DRS[row * GH + q] = m.gr(bw[m.b_rec() + q]);
            dbW[q] += bw[q];
            dbR[q] += bw[m.b_rec() + q];
          }
          if (m.proj) {
            const C* hpre = m.fwd(l, d, t, b) + m.f_hpre();
            for (int p = 0; p < P; ++p) DPROJ[row * P + p] = m.gr(bw[m.b_out() + p]);
            for (int j = 0; j < H; ++j) HPRE[row * H + j] = m.gr(hpre[j]);
          }
        }
      dWc.resize(static_cast<size_t>(GH) * in_dim);
      dRc.resize(static_cast<size_t>(GH) * P);
      gemm(true, false, GH, in_dim, n, DWS.data(), GH, IN.data(), in_dim, dWc.data(), in_dim);
      gemm(true, false, GH, P, n, DRS.data(), GH, HP.data(), P, dRc.data(), P);
      for (int g = 0; g < G; ++g) {
        const Block& wm = m.wl.m(pl, g);
        const Block& rm = m.wl.m(pl, G + g);
        for (size_t i = 0; i < wm.numel(); ++i) dw[wm.off + i] += dWc[g * wm.numel() + i];
        for (size_t i = 0; i < rm.numel(); ++i) dw[rm.off + i] += dRc[g * rm.numel() + i];
        for (int lin : {g, G + g}) {
          const Block& bb = m.wl.b(pl, lin);
          if (!bb.exists()) continue;
          const std::vector<C>& src = lin < G ? dbW : dbR;
          for (int j = 0; j < H; ++j) dw[bb.off + j] += src[g * H + j];
        }
      }
      if (m.proj) {
        dWr.resize(static_cast<size_t>(P) * H);
        gemm(true, false, P, H, n, DPROJ.data(), P, HPRE.data(), H, dWr.data(), H);
        const Block& pm = m.wl.m(pl, 8);
        for (size_t i = 0; i < pm.numel(); ++i) dw[pm.off + i] += dWr[i];
      }
    }
  }
}

template void run_forward(Model<float>&, const std::vector<float>&, const std::vector<float>&,
                          const std::vector<float>&, std::vector<float>&, std::vector<float>&,
                          std::vector<float>&);
template void run_forward(Model<double>&, const std::vector<double>&, const std::vector<double>&,
                          const std::vector<double>&, std::vector<double>&, std::vector<double>&,
                          std::vector<double>&);
template void run_backward_data(Model<float>&, const std::vector<float>&, const std::vector<float>&,
                                const std::vector<float>&, const std::vector<float>&,
                                const std::vector<float>&, std::vector<float>&, std::vector<float>&,
                                std::vector<float>&);
template void run_backward_data(Model<double>&, const std::vector<double>&,
                                const std::vector<double>&, const std::vector<double>&,
                                const std::vector<double>&, const std::vector<double>&,
                                std::vector<double>&, std::vector<double>&, std::vector<double>&);
template void run_backward_weights(Model<float>&, const std::vector<float>&,
                                   const std::vector<float>&, std::vector<float>&);
template void run_backward_weights(Model<double>&, const std::vector<double>&,
                                   const std::vector<double>&, std::vector<double>&);

}  // namespace emu_cudnn
