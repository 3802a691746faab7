// The time loop of one direction of a recurrent layer (kernels/recurrent_seq.h), written once for
// every engine that runs a sequence step by step: the CPU reference (kernels/cpu/
// recurrent_seq_ref.cpp) and the fused CUDA engine (kernels/cuda/recurrent_seq_fused.cpp). So the
// order of operations, the padding rules and the saved tensors are the same everywhere, and the
// GPU engine differs from the reference only in its primitives.
//
// An engine supplies `Ops` for element type T; every pointer it receives is on ops.device():
//   Device device() const;
//   void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* a,
//             int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc);   // row-major
//   void cell_fwd(CellKind, const CellStepFwd<T>&);   void cell_bwd(CellKind, const
//   CellStepBwd<T>&); void copy(T* dst, const T* src, int64_t n);       void zero(T* dst, int64_t
//   n); void write_output(RowMask, T* y, int64_t ld_y, const T* h, int64_t S);
//       rows b < B: y[b*ld_y + j] = h[b*S + j] where step t is valid for b, else 0 (j < S)
//   void add_output_grad(RowMask, T* out, const T* carry, const T* dy, int64_t ld_dy, int64_t S);
//       out[b*S + j] = carry[b*S + j] + (dy && valid ? dy[b*ld_dy + j] : 0)
//   void copy_padded_rows(RowMask, T* dst, const T* src, int64_t S);    padded rows: dst = src
//   void padded_rows_only(RowMask, T* dst, const T* src, int64_t S);    valid 0, padded src
//   void add_column_sums(const Tensor& m [rows,cols], Tensor& out [cols]);    out += sums
// Per step: the recurrent GEMM, then one cell step that also writes the output y (forward) and
// adds the output's gradient dy (backward); with an LSTM projection, write_output and
// add_output_grad do that around the projection's GEMMs instead.
// At a mixed math precision (SeqConfig::precision bf16/f16, f32 tensors) the driver runs its GEMMs
// through kernels/mixed_gemm.h instead of ops.gemm, with the weights rounded once per call and the
// per-step operands (h_{t-1} without projection, the gate gradients dhp) rounded by the cell step
// that produces them (CellStepFwd::h_rounded, CellStepBwd::dhp_rounded: no rounding pass per
// step); every other primitive is unchanged (states, cell state and gate math stay f32).
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "kernels/cell_step.h"
#include "kernels/mixed_gemm.h"
#include "kernels/recurrent_seq.h"

namespace recur::seq_driver {

// Every GEMM of one call: ops.gemm at f32 (or f64) math, gemm_mixed at bf16/f16.
template <class T, class Ops>
class Gemms {
 public:
  // At a mixed precision the weights are rounded once per call into copies, except on the CPU for
  // a short call whose per-step products are single rows (batch `step_rows` = 1, under
  // kCopyMinSteps `steps`: streaming, generation). gemm_mixed rounds W there as it reads it
  // (kernels/cpu/rounded_gemv.h), while the copies cost a read and a write of every weight per
  // call: they made a one-step call 7x-9x slower (H = 256 and 512, LSTM and GRU), and 20x-25x
  // before the rounding ran in vectors. From 8 steps on they repay themselves: OpenBLAS's sgemv
  // on a rounded copy ran B = 1, T = 64 layers up to 1.18x faster than rounding as it reads.
  static constexpr int64_t kCopyMinSteps = 8;
  Gemms(Ops& ops, const SeqConfig& cfg, const SeqParams& p, int64_t step_rows, int64_t steps)
      : ops_(ops),
        precision_(checked(cfg.precision)),
        weights_(cfg.precision, ops.device().is_cpu() && step_rows == 1 && steps < kCopyMinSteps
                                    ? std::vector<const Tensor*>{}
                                    : std::vector<const Tensor*>{&p.w_ih, &p.w_hh, &p.w_hr}) {}
  void operator()(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* a,
                  int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
    if constexpr (std::is_same_v<T, float>) {
      if (precision_ != Precision::f32) {
        gemm_mixed(ops_.device(), precision_, ta, tb, M, N, K, alpha, weights_.operand(a, lda),
                   weights_.operand(b, ldb), beta, c, ldc);
        return;
      }
    }
    ops_.gemm(ta, tb, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc);
  }
  // The same with op(a) already rounded (a cell step's RoundedCopy): at a mixed precision only.
  void operator()(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, GemmOperand a,
                  const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
    if constexpr (std::is_same_v<T, float>) {
      gemm_mixed(ops_.device(), precision_, ta, tb, M, N, K, alpha, a, weights_.operand(b, ldb),
                 beta, c, ldc);
    } else {
      RECUR_FAIL("recurrent sequence: a rounded operand needs f32 tensors");
    }
  }
  // Whether steps should hand the GEMMs rounded copies of their results (a mixed precision).
  bool rounds() const { return std::is_same_v<T, float> && precision_ != Precision::f32; }
  // A RoundedCopy into `storage` (of rounded_storage's type), for a cell step to fill.
  RoundedCopy rounded_copy(Tensor& storage, int64_t offset_elements) const {
    RoundedCopy r;
    r.data = static_cast<char*>(storage.raw_data()) +
             offset_elements * static_cast<int64_t>(dtype_size(storage.dtype()));
    r.precision = precision_;
    r.narrow = storage.dtype() != DType::f32;
    return r;
  }

 private:
  static Precision checked(Precision precision) {
    RECUR_CHECK(precision == Precision::f32 || (std::is_same_v<T, float>),
                "recurrent sequence: {} math precision needs f32 tensors (the master weights)",
                precision_name(precision));
    return precision;
  }
  Ops& ops_;
  Precision precision_;
  RoundedWeights weights_;
};

template <class T>
const T* data_or(const Tensor& t, const T* fallback) {
  return t.defined() ? t.data<T>() : fallback;
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.data<T>() : nullptr;
}

template <class T, class Ops>
void copy_or_zero(Ops& ops, const Tensor& src, T* dst, int64_t n) {
  if (src.defined())
    ops.copy(dst, src.data<T>(), n);
  else
    ops.zero(dst, n);
}

template <class T, class Ops>
void forward(Ops& ops, const SeqConfig& cfg, const SeqParams& p, SeqForward& a) {
  const Tensor& x = *a.x;
  const DType dtype = x.dtype();
  const Device dev = ops.device();
  const CellKind cell = cfg.cell;
  const int64_t B = x.size(0), Tn = x.size(1), I = cfg.input_size, H = cfg.hidden_size;
  const int64_t S = cfg.state_size(), P = cfg.proj_size, G = cfg.gate_rows();
  const int64_t W = cell_cache_blocks(cell) * H, Y = a.y.size(2);
  const bool lstm = cell == CellKind::lstm, proj = P > 0;
  const int64_t* lengths = data_or_null<const int64_t>(a.lengths);
  Gemms<T, Ops> gemm(ops, cfg, p, B, Tn);

  // Stands in for absent biases, and for m_{t-1} of padded rows with projection.
  Tensor zeros = Tensor::zeros({std::max(G, B * H)}, dtype, dev);
  const T* b_ih = data_or(p.b_ih, zeros.data<T>());
  const T* b_hh = data_or(p.b_hh, zeros.data<T>());

  // Input projection for every step at once: xp [B*T, G] = x [B*T, I] W_ih^T.
  Tensor xp = Tensor::empty({B * Tn, G}, dtype, dev);
  gemm(false, true, B * Tn, G, I, T(1), x.data<T>(), I, p.w_ih.data<T>(), I, T(0), xp.data<T>(), G);
  Tensor hp = Tensor::empty({B, G}, dtype, dev);
  // At a mixed precision without projection each step also writes its h rounded for the next
  // step's GEMM (two slots, alternating), instead of a rounding pass per step.
  const bool round_h = gemm.rounds() && !proj;
  Tensor h_rounded =
      round_h ? Tensor::empty({2, B, S}, rounded_storage(dev, cfg.precision), dev) : Tensor();
  RoundedCopy h_rounded_slot[2];
  if (round_h)
    for (int64_t k = 0; k < 2; ++k) h_rounded_slot[k] = gemm.rounded_copy(h_rounded, k * B * S);

  // State sequences: kept whole for training, two ping-pong slots for inference.
  SeqSaved local;
  SeqSaved& sv = a.saved ? *a.saved : local;
  const int64_t slots = a.saved ? Tn + 1 : 2;
  sv.hs = Tensor::empty({slots, B, S}, dtype, dev);
  if (lstm) sv.cs = Tensor::empty({slots, B, H}, dtype, dev);
  if (proj) sv.ms = Tensor::empty({a.saved ? Tn : 1, B, H}, dtype, dev);
  if (a.saved) sv.cache = Tensor::empty({Tn, B, W}, dtype, dev);
  auto slot = [&](const Tensor& seq, int64_t s, int64_t width) {
    return seq.data<T>() + (a.saved ? s : s % 2) * B * width;
  };
  copy_or_zero<T>(ops, a.h0, slot(sv.hs, 0, S), B * S);
  if (lstm) copy_or_zero<T>(ops, a.c0, slot(sv.cs, 0, H), B * H);

  for (int64_t s = 0; s < Tn; ++s) {
    const int64_t t = cfg.reverse ? Tn - 1 - s : s;
    const RowMask mask{B, t, lengths};
    T* h_prev = slot(sv.hs, s, S);
    T* h_next = slot(sv.hs, s + 1, S);
    if (round_h && s > 0)  // the previous step rounded h_prev
      gemm(false, true, B, G, S, T(1), GemmOperand{h_rounded_slot[s % 2].data, S, true},
           p.w_hh.data<T>(), S, T(0), hp.data<T>(), G);
    else
      gemm(false, true, B, G, S, T(1), h_prev, S, p.w_hh.data<T>(), S, T(0), hp.data<T>(), G);

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
    st.m_prev = proj ? zeros.data<T>() : (lstm ? h_prev : nullptr);
    st.cache = a.saved ? sv.cache.data<T>() + s * B * W : nullptr;
    T* y_t = a.y.data<T>() + t * Y + a.y_col;
    if (!proj) {  // the step writes the output itself
      st.y = y_t;
      st.ld_y = Tn * Y;
    }
    if (round_h && s + 1 < Tn) st.h_rounded = h_rounded_slot[(s + 1) % 2];
    ops.cell_fwd(cell, st);

    if (proj) {
      gemm(false, true, B, P, H, T(1), m, H, p.w_hr.data<T>(), H, T(0), h_next, P);
      ops.copy_padded_rows(mask, h_next, h_prev, P);
      ops.write_output(mask, y_t, Tn * Y, h_next, S);
    }
  }
  ops.copy(a.h_n.data<T>(), slot(sv.hs, Tn, S), B * S);
  if (lstm) ops.copy(a.c_n.data<T>(), slot(sv.cs, Tn, H), B * H);
}

// What a backward does after its time loop, as large GEMMs over all steps: the weight gradients
// and dx from dxp [B*T,G] (batch-first, the gradient of W_ih x_t + b_ih), dhp [T,B,G] (by
// processing step, the gradient of W_hh h' + b_hh) and the states each step read (saved
// hs[0..T-1]); the bias sums; leaky's d(a) from dleak_rows [B,H] (undefined for other cells). Also
// used by engines with their own time loop (the persistent engine).
template <class T, class Ops>
void after_the_loop(Ops& ops, Gemms<T, Ops>& gemm, const SeqConfig& cfg, const SeqParams& p,
                    SeqBackward& a, const Tensor& dxp, const Tensor& dhp,
                    const Tensor& dleak_rows) {
  const Tensor& x = *a.x;
  const int64_t B = x.size(0), Tn = x.size(1), I = cfg.input_size;
  const int64_t S = cfg.state_size(), G = cfg.gate_rows();
  SeqParamGrads& g = a.grads;
  if (g.w_ih.defined())
    gemm(true, false, G, I, B * Tn, T(1), dxp.data<T>(), G, x.data<T>(), I, T(1), g.w_ih.data<T>(),
         I);
  if (g.w_hh.defined())  // hs[0..T-1] are the states each step read
    gemm(true, false, G, S, Tn * B, T(1), dhp.data<T>(), G, a.saved->hs.data<T>(), S, T(1),
         g.w_hh.data<T>(), S);
  if (g.b_ih.defined()) ops.add_column_sums(dxp, g.b_ih);
  if (g.b_hh.defined()) ops.add_column_sums(dhp.reshape({Tn * B, G}), g.b_hh);
  if (g.leak.defined()) ops.add_column_sums(dleak_rows, g.leak);
  if (a.dx.defined())
    gemm(false, false, B * Tn, I, G, T(1), dxp.data<T>(), G, p.w_ih.data<T>(), I, T(1),
         a.dx.data<T>(), I);
}

template <class T, class Ops>
void backward(Ops& ops, const SeqConfig& cfg, const SeqParams& p, SeqBackward& a) {
  const Tensor& x = *a.x;
  const SeqSaved& sv = *a.saved;
  const DType dtype = x.dtype();
  const Device dev = ops.device();
  const CellKind cell = cfg.cell;
  const int64_t B = x.size(0), Tn = x.size(1), H = cfg.hidden_size;
  const int64_t S = cfg.state_size(), P = cfg.proj_size, G = cfg.gate_rows();
  const int64_t W = cell_cache_blocks(cell) * H;
  const bool lstm = cell == CellKind::lstm, proj = P > 0;
  const int64_t* lengths = data_or_null<const int64_t>(a.lengths);
  const int64_t Y = a.dy.defined() ? a.dy.size(2) : 0;
  const T* dy = data_or_null<const T>(a.dy);
  Gemms<T, Ops> gemm(ops, cfg, p, B, Tn);

  Tensor dxp = Tensor::empty({B * Tn, G}, dtype, dev);  // batch-first, like the forward's xp
  Tensor dhp = Tensor::empty({Tn, B, G}, dtype, dev);   // by processing step
  Tensor carry = Tensor::empty({B, S}, dtype, dev);     // gradient reaching the state after step s
  Tensor carry_prev = Tensor::empty({B, S}, dtype, dev);
  Tensor dh_total = proj ? Tensor::empty({B, S}, dtype, dev) : Tensor();  // carry + dy
  Tensor dm = proj ? Tensor::empty({B, H}, dtype, dev) : Tensor();
  Tensor dh_direct = proj ? Tensor::empty({B, H}, dtype, dev) : Tensor();
  Tensor dc, dc_prev;
  if (lstm) {
    dc = Tensor::empty({B, H}, dtype, dev);
    dc_prev = Tensor::empty({B, H}, dtype, dev);
    copy_or_zero<T>(ops, a.dc_n, dc.data<T>(), B * H);
  }
  Tensor dleak_rows = cell == CellKind::leaky ? Tensor::zeros({B, H}, dtype, dev) : Tensor();
  // At a mixed precision each step also writes its dhp rounded for its dh GEMM.
  Tensor dhp_rounded =
      gemm.rounds() ? Tensor::empty({B, G}, rounded_storage(dev, cfg.precision), dev) : Tensor();
  const RoundedCopy dhp_round =
      dhp_rounded.defined() ? gemm.rounded_copy(dhp_rounded, 0) : RoundedCopy{};
  copy_or_zero<T>(ops, a.dh_n, carry.data<T>(), B * S);

  for (int64_t s = Tn - 1; s >= 0; --s) {
    const int64_t t = cfg.reverse ? Tn - 1 - s : s;
    const RowMask mask{B, t, lengths};
    T* dht = proj ? dh_total.data<T>() : nullptr;
    const T* dy_t = dy ? dy + t * Y + a.dy_col : nullptr;
    // Without projection the cell step adds dy itself; with it, dh_total feeds the projection.
    const T* dh_cell = carry.data<T>();
    if (proj) {
      ops.add_output_grad(mask, dht, carry.data<T>(), dy_t, Tn * Y, S);
      dh_cell = dht;
      gemm(false, false, B, H, P, T(1), dht, P, p.w_hr.data<T>(), H, T(0), dm.data<T>(), H);
      dh_cell = dm.data<T>();
      if (a.grads.w_hr.defined())
        gemm(true, false, P, H, B, T(1), dht, P, sv.ms.data<T>() + s * B * H, H, T(1),
             a.grads.w_hr.data<T>(), H);
    }

    CellStepBwd<T> st;
    st.B = B;
    st.H = H;
    st.t = t;
    st.lengths = lengths;
    st.dh = dh_cell;
    if (!proj) {
      st.dy = dy_t;
      st.ld_dy = Tn * Y;
    }
    st.cache = sv.cache.data<T>() + s * B * W;
    st.h_prev = sv.hs.data<T>() + s * B * S;
    st.leak = data_or_null<const T>(p.leak);
    st.dxp = dxp.data<T>() + t * G;
    st.ld_dxp = Tn * G;
    st.dhp = dhp.data<T>() + s * B * G;
    st.dh_prev = proj ? dh_direct.data<T>() : carry_prev.data<T>();
    st.dleak_rows = data_or_null<T>(dleak_rows);
    st.dhp_rounded = dhp_round;
    if (lstm) {
      st.dc_next = dc.data<T>();
      st.c_prev = sv.cs.data<T>() + s * B * H;
      st.c = sv.cs.data<T>() + (s + 1) * B * H;
      st.dc_prev = dc_prev.data<T>();
    }
    ops.cell_bwd(cell, st);

    T* cp = carry_prev.data<T>();
    // With projection the LSTM has no direct path: only padded rows pass their gradient through.
    if (proj) ops.padded_rows_only(mask, cp, dht, P);
    if (dhp_rounded.defined())
      gemm(false, false, B, S, G, T(1), GemmOperand{dhp_round.data, G, true}, p.w_hh.data<T>(), S,
           T(1), cp, S);
    else
      gemm(false, false, B, S, G, T(1), st.dhp, G, p.w_hh.data<T>(), S, T(1), cp, S);
    std::swap(carry, carry_prev);
    if (lstm) std::swap(dc, dc_prev);
  }

  if (a.dh0.defined()) ops.copy(a.dh0.data<T>(), carry.data<T>(), B * S);
  if (a.dc0.defined() && lstm) ops.copy(a.dc0.data<T>(), dc.data<T>(), B * H);
  after_the_loop<T>(ops, gemm, cfg, p, a, dxp, dhp, dleak_rows);
}

}  // namespace recur::seq_driver
