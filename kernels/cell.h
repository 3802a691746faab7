// The recurrent cells recur knows, and the facts about each that every engine needs: how many
// gate rows it has (G = gates * H) and how much it keeps per step for backward.
//
//   rnn_tanh  h = tanh(W x + b_ih + U h' + b_hh)                       G = H
//   rnn_relu  h = relu(W x + b_ih + U h' + b_hh)                       G = H
//   leaky     h = (1-a) h' + a tanh(W x + b_ih + U h' + b_hh)          G = H, a per unit
//   gru       r, z, n (PyTorch/cuDNN form, n uses r * (U_n h' + b_hn)) G = 3H
//   lstm      i, f, g, o; c = f c' + i g; h = o tanh(c)                G = 4H
#pragma once

#include <cstdint>
#include <string>

#include "core/host_device.h"

namespace recur {

enum class CellKind { rnn_tanh, rnn_relu, leaky, gru, lstm };

// "rnn_tanh", "rnn_relu", "leaky", "gru", "lstm"
const char* cell_name(CellKind cell);
// Parses a cell name; throws recur::Error listing the known names otherwise.
CellKind cell_from_name(const std::string& name);

// Gate blocks per unit: G = cell_gates(cell) * H.
RECUR_HOST_DEVICE constexpr int64_t cell_gates(CellKind cell) {
  return cell == CellKind::lstm ? 4 : cell == CellKind::gru ? 3 : 1;
}

// Values per unit the training forward keeps for backward (the "cache" row is this times H):
// rnn_*: h; leaky: u = tanh(pre); gru: r, z, n, U_n h' + b_hn; lstm: i, f, g, o.
RECUR_HOST_DEVICE constexpr int64_t cell_cache_blocks(CellKind cell) {
  return cell == CellKind::lstm || cell == CellKind::gru ? 4 : 1;
}

RECUR_HOST_DEVICE constexpr bool cell_has_c(CellKind cell) {
  return cell == CellKind::lstm;
}

}  // namespace recur
