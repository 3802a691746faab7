#include "kernels/cell.h"

#include "core/error.h"

namespace recur {

const char* cell_name(CellKind cell) {
  switch (cell) {
    case CellKind::rnn_tanh:
      return "rnn_tanh";
    case CellKind::rnn_relu:
      return "rnn_relu";
    case CellKind::leaky:
      return "leaky";
    case CellKind::gru:
      return "gru";
    case CellKind::lstm:
      return "lstm";
  }
  return "?";
}

CellKind cell_from_name(const std::string& name) {
  for (CellKind c :
       {CellKind::rnn_tanh, CellKind::rnn_relu, CellKind::leaky, CellKind::gru, CellKind::lstm})
    if (name == cell_name(c)) return c;
  RECUR_FAIL("unknown cell '{}': expected one of rnn_tanh, rnn_relu, leaky, gru, lstm", name);
}

}  // namespace recur
