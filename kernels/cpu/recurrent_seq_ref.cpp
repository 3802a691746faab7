// CPU reference engine for one direction of a recurrent layer over a sequence (see
// kernels/recurrent_seq.h): OpenBLAS GEMMs and the threaded pointwise cell step. This is the
// engine every other engine is checked against, in f64 for gradient checks and f32 for parity.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/cell_step.h"
#include "kernels/cpu/gemm_cpu.h"
#include "kernels/gemm.h"
#include "kernels/recurrent_seq.h"

namespace recur {

namespace {

template <class T>
const T* data_or(const Tensor& t, const T* fallback) {
  return t.defined() ? t.data<T>() : fallback;
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

bool valid(const int64_t* lengths, int64_t b, int64_t t) {
  return !lengths || t < lengths[b];
}

template <class T>
void copy_or_zero(const Tensor& src, T* dst, int64_t n) {
  if (src.defined())
    std::memcpy(dst, src.data<T>(), n * sizeof(T));
  else
    std::fill(dst, dst + n, T(0));
}

template <class T>
void fwd_impl(const SeqConfig& cfg, const SeqParams& p, SeqForward& a) {
  const Tensor& x = *a.x;
  const DType dtype = x.dtype();
  const CellKind cell = cfg.cell;
  const int64_t B = x.size(0), Tn = x.size(1), I = cfg.input_size, H = cfg.hidden_size;
  const int64_t S = cfg.state_size(), P = cfg.proj_size, G = cfg.gate_rows();
  const int64_t W = cell_cache_blocks(cell) * H, Y = a.y.size(2);
  const bool lstm = cell == CellKind::lstm, proj = P > 0;
  const int64_t* lengths = data_or_null<const int64_t>(a.lengths);

  std::vector<T> zeros(std::max(G, B * H), T(0));
  const T* b_ih = data_or(p.b_ih, zeros.data());
  const T* b_hh = data_or(p.b_hh, zeros.data());

  // Input projection for every step at once: xp [B*T, G] = x [B*T, I] W_ih^T.
  Tensor xp = Tensor::empty({B * Tn, G}, dtype);
  gemm_cpu<T>(false, true, B * Tn, G, I, T(1), x.data<T>(), I, p.w_ih.data<T>(), I, T(0),
              xp.data<T>(), G);
  Tensor hp = Tensor::empty({B, G}, dtype);

  // State sequences: kept whole for training, two ping-pong slots for inference.
  SeqSaved local;
  SeqSaved& sv = a.saved ? *a.saved : local;
  const int64_t slots = a.saved ? Tn + 1 : 2;
  sv.hs = Tensor::empty({slots, B, S}, dtype);
  if (lstm) sv.cs = Tensor::empty({slots, B, H}, dtype);
  if (proj) sv.ms = Tensor::empty({a.saved ? Tn : 1, B, H}, dtype);
  if (a.saved) sv.cache = Tensor::empty({Tn, B, W}, dtype);
  auto slot = [&](const Tensor& seq, int64_t s, int64_t width) {
    return seq.data<T>() + (a.saved ? s : s % 2) * B * width;
  };
  copy_or_zero<T>(a.h0, slot(sv.hs, 0, S), B * S);
  if (lstm) copy_or_zero<T>(a.c0, slot(sv.cs, 0, H), B * H);

  for (int64_t s = 0; s < Tn; ++s) {
    const int64_t t = cfg.reverse ? Tn - 1 - s : s;
    T* h_prev = slot(sv.hs, s, S);
    T* h_next = slot(sv.hs, s + 1, S);
    gemm_cpu<T>(false, true, B, G, S, T(1), h_prev, S, p.w_hh.data<T>(), S, T(0), hp.data<T>(), G);

    CellStepFwd<T> st;
    st.B = B;
    st.H = H;
    st.t = t;
    st.lengths = lengths;
    st.xp = xp.data<T>() + t * G;
    st.ld_xp = Tn * G;
    st.hp = hp.data<T>();
    st.b_ih = b_ih;
    st.b_hh = b_hh;
    st.h_prev = h_prev;
    st.leak = data_or_null<const T>(p.leak);
    st.ld_h = H;
    if (lstm) {
      st.c_prev = slot(sv.cs, s, H);
      st.c = slot(sv.cs, s + 1, H);
    }
    T* m = proj ? sv.ms.data<T>() + (a.saved ? s : 0) * B * H : nullptr;
    // With projection, padded rows of m are zero (so dW_hr ignores them); else they keep h.
    st.h = proj ? m : h_next;
    st.m_prev = proj ? zeros.data() : (lstm ? h_prev : nullptr);
    st.cache = a.saved ? sv.cache.data<T>() + s * B * W : nullptr;
    cell_step_fwd_ref(cell, st);

    if (proj) {
      gemm_cpu<T>(false, true, B, P, H, T(1), m, H, p.w_hr.data<T>(), H, T(0), h_next, P);
      for (int64_t b = 0; b < B; ++b)
        if (!valid(lengths, b, t)) std::memcpy(h_next + b * P, h_prev + b * P, P * sizeof(T));
    }
    T* y = a.y.data<T>();
    for (int64_t b = 0; b < B; ++b) {
      T* dst = y + (b * Tn + t) * Y + a.y_col;
      if (valid(lengths, b, t))
        std::memcpy(dst, h_next + b * S, S * sizeof(T));
      else
        std::fill(dst, dst + S, T(0));
    }
  }
  std::memcpy(a.h_n.data<T>(), slot(sv.hs, Tn, S), B * S * sizeof(T));
  if (lstm) std::memcpy(a.c_n.data<T>(), slot(sv.cs, Tn, H), B * H * sizeof(T));
}

template <class T>
void bwd_impl(const SeqConfig& cfg, const SeqParams& p, SeqBackward& a) {
  const Tensor& x = *a.x;
  const SeqSaved& sv = *a.saved;
  const DType dtype = x.dtype();
  const CellKind cell = cfg.cell;
  const int64_t B = x.size(0), Tn = x.size(1), I = cfg.input_size, H = cfg.hidden_size;
  const int64_t S = cfg.state_size(), P = cfg.proj_size, G = cfg.gate_rows();
  const int64_t W = cell_cache_blocks(cell) * H;
  const bool lstm = cell == CellKind::lstm, proj = P > 0;
  const int64_t* lengths = data_or_null<const int64_t>(a.lengths);
  const int64_t Y = a.dy.defined() ? a.dy.size(2) : 0;
  const T* dy = data_or_null<const T>(a.dy);

  Tensor dxp = Tensor::empty({B * Tn, G}, dtype);  // batch-first, like the forward's xp
  Tensor dhp = Tensor::empty({Tn, B, G}, dtype);   // by processing step
  Tensor carry = Tensor::empty({B, S}, dtype);     // gradient reaching the state after step s
  Tensor carry_prev = Tensor::empty({B, S}, dtype);
  Tensor dh_total = Tensor::empty({B, S}, dtype);
  Tensor dm = proj ? Tensor::empty({B, H}, dtype) : Tensor();
  Tensor dh_direct = proj ? Tensor::empty({B, H}, dtype) : Tensor();
  Tensor dc, dc_prev;
  if (lstm) {
    dc = Tensor::empty({B, H}, dtype);
    dc_prev = Tensor::empty({B, H}, dtype);
    copy_or_zero<T>(a.dc_n, dc.data<T>(), B * H);
  }
  Tensor dleak_rows = cell == CellKind::leaky ? Tensor::zeros({B, H}, dtype) : Tensor();
  copy_or_zero<T>(a.dh_n, carry.data<T>(), B * S);

  for (int64_t s = Tn - 1; s >= 0; --s) {
    const int64_t t = cfg.reverse ? Tn - 1 - s : s;
    T* dht = dh_total.data<T>();
    const T* cr = carry.data<T>();
    for (int64_t b = 0; b < B; ++b) {
      const T* dyr = dy && valid(lengths, b, t) ? dy + (b * Tn + t) * Y + a.dy_col : nullptr;
      for (int64_t j = 0; j < S; ++j) dht[b * S + j] = cr[b * S + j] + (dyr ? dyr[j] : T(0));
    }
    const T* dh_cell = dht;
    if (proj) {
      gemm_cpu<T>(false, false, B, H, P, T(1), dht, P, p.w_hr.data<T>(), H, T(0), dm.data<T>(), H);
      dh_cell = dm.data<T>();
      if (a.grads.w_hr.defined())
        gemm_cpu<T>(true, false, P, H, B, T(1), dht, P, sv.ms.data<T>() + s * B * H, H, T(1),
                    a.grads.w_hr.data<T>(), H);
    }

    CellStepBwd<T> st;
    st.B = B;
    st.H = H;
    st.t = t;
    st.lengths = lengths;
    st.dh = dh_cell;
    st.cache = sv.cache.data<T>() + s * B * W;
    st.h_prev = sv.hs.data<T>() + s * B * S;
    st.leak = data_or_null<const T>(p.leak);
    st.dxp = dxp.data<T>() + t * G;
    st.ld_dxp = Tn * G;
    st.dhp = dhp.data<T>() + s * B * G;
    st.dh_prev = proj ? dh_direct.data<T>() : carry_prev.data<T>();
    st.dleak_rows = data_or_null<T>(dleak_rows);
    if (lstm) {
      st.dc_next = dc.data<T>();
      st.c_prev = sv.cs.data<T>() + s * B * H;
      st.c = sv.cs.data<T>() + (s + 1) * B * H;
      st.dc_prev = dc_prev.data<T>();
    }
    cell_step_bwd_ref(cell, st);

    T* cp = carry_prev.data<T>();
    if (proj) {  // the LSTM has no direct path: only padded rows pass their gradient through
      for (int64_t b = 0; b < B; ++b) {
        if (valid(lengths, b, t))
          std::fill(cp + b * P, cp + (b + 1) * P, T(0));
        else
          std::memcpy(cp + b * P, dht + b * P, P * sizeof(T));
      }
    }
    gemm_cpu<T>(false, false, B, S, G, T(1), st.dhp, G, p.w_hh.data<T>(), S, T(1), cp, S);
    std::swap(carry, carry_prev);
    if (lstm) std::swap(dc, dc_prev);
  }

  if (a.dh0.defined()) std::memcpy(a.dh0.data<T>(), carry.data<T>(), B * S * sizeof(T));
  if (a.dc0.defined() && lstm) std::memcpy(a.dc0.data<T>(), dc.data<T>(), B * H * sizeof(T));

  // Weight gradients as large GEMMs over all steps.
  SeqParamGrads& g = a.grads;
  if (g.w_ih.defined())
    gemm_cpu<T>(true, false, G, I, B * Tn, T(1), dxp.data<T>(), G, x.data<T>(), I, T(1),
                g.w_ih.data<T>(), I);
  if (g.w_hh.defined())  // hs[0..T-1] are the states each step read
    gemm_cpu<T>(true, false, G, S, Tn * B, T(1), dhp.data<T>(), G, sv.hs.data<T>(), S, T(1),
                g.w_hh.data<T>(), S);
  if (g.b_ih.defined()) add_column_sums(dxp, g.b_ih);
  if (g.b_hh.defined()) add_column_sums(dhp.reshape({Tn * B, G}), g.b_hh);
  if (g.leak.defined()) add_column_sums(dleak_rows, g.leak);
  if (a.dx.defined())
    gemm_cpu<T>(false, false, B * Tn, I, G, T(1), dxp.data<T>(), G, p.w_ih.data<T>(), I, T(1),
                a.dx.data<T>(), I);
}

}  // namespace

void recurrent_seq_fwd_ref(const SeqConfig& config, const SeqParams& params, SeqForward& args) {
  if (args.x->dtype() == DType::f64)
    fwd_impl<double>(config, params, args);
  else
    fwd_impl<float>(config, params, args);
}

void recurrent_seq_bwd_ref(const SeqConfig& config, const SeqParams& params, SeqBackward& args) {
  if (args.x->dtype() == DType::f64)
    bwd_impl<double>(config, params, args);
  else
    bwd_impl<float>(config, params, args);
}

}  // namespace recur
