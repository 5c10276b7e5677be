// Torch view of a capture file: turns stored arrays into tensors and rebuilds the mLSTM
// implicit attention A and the states C_t, n_t, m_t of any head at any position exactly from
// the stored sufficient statistics (q, k, v, igate_pre, fgate_pre;
// docs/method.md#implicit-attention).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/models/mlstm_cell.h"
#include "core/store/h5.h"

namespace dxl::store {
class CaptureReader;
}

namespace dxl::capture {

// float32 tensor with the stored (or sliced) shape; lazy hyperslab underneath.
torch::Tensor read_tensor(const store::CaptureReader& reader, int64_t sample,
                          const std::string& path, const h5::Dims& offset = {},
                          const h5::Dims& count = {});

// The mLSTM statistics of one stored head of student block `block` (head = model head id,
// which must be among the stored heads). Only that head's slices are read.
struct MlstmHeadStats {
    torch::Tensor q, k, v;               // (1, 1, T, Dh) float32
    torch::Tensor igate_pre, fgate_pre;  // (1, 1, T) float32
};
MlstmHeadStats read_mlstm_head(const store::CaptureReader& reader, int64_t sample, int block,
                               int64_t head);

// A (T, T) of one head, rebuilt with mlstm::implicit_attention from the stored statistics.
torch::Tensor rebuild_implicit_attention(const store::CaptureReader& reader, int64_t sample,
                                         int block, int64_t head);

// C (P, Dh, Dh), n (P, Dh), m (P) of one head at token positions, rebuilt with mlstm::states_at.
models::mlstm::StatesAt rebuild_states(const store::CaptureReader& reader, int64_t sample,
                                       int block, int64_t head,
                                       const std::vector<int64_t>& positions);

}  // namespace dxl::capture
