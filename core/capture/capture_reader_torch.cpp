// Torch view of capture files (see header).
#include "core/capture/capture_reader_torch.h"

#include <torch/torch.h>

#include <algorithm>
#include <cstdio>

#include "core/base/error.h"
#include "core/store/capture_reader.h"

namespace dxl::capture {

namespace {
std::string block_dir(int block) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "student/block_%02d/", block);
    return buf;
}
}  // namespace

torch::Tensor read_tensor(const store::CaptureReader& reader, int64_t sample,
                          const std::string& path, const h5::Dims& offset, const h5::Dims& count) {
    const h5::Dims shape = count.empty() ? reader.info(sample, path).dims : count;
    std::vector<float> data = reader.read_float(sample, path, offset, count);
    std::vector<int64_t> sizes(shape.begin(), shape.end());
    return torch::from_blob(data.data(), sizes, torch::kFloat32).clone();  // (shape)
}

MlstmHeadStats read_mlstm_head(const store::CaptureReader& reader, int64_t sample, int block,
                               int64_t head) {
    const std::string dir = block_dir(block);
    DXL_CHECK(reader.has(sample, dir + "q"), FormatError, reader.path(), ": sample ", sample,
              " has no ", dir, "q (not an mLSTM block, or the block was not captured)");
    const std::vector<int64_t> heads = reader.heads(sample, dir + "q");
    auto it = std::find(heads.begin(), heads.end(), head);
    DXL_CHECK(it != heads.end(), ValueError, reader.path(), ": head ", head, " of ", dir,
              " was not stored; capture it with --heads");
    const hsize_t row = static_cast<hsize_t>(it - heads.begin());
    const h5::Dims qd = reader.info(sample, dir + "q").dims;          // (H, T, Dh)
    const h5::Dims gd = reader.info(sample, dir + "igate_pre").dims;  // (H, T)
    MlstmHeadStats s;
    auto head3 = [&](const char* name) {
        return read_tensor(reader, sample, dir + name, {row, 0, 0}, {1, qd[1], qd[2]}).unsqueeze(0);
    };
    auto head2 = [&](const char* name) {
        return read_tensor(reader, sample, dir + name, {row, 0}, {1, gd[1]}).unsqueeze(0);
    };
    s.q = head3("q");
    s.k = head3("k");
    s.v = head3("v");
    s.igate_pre = head2("igate_pre");
    s.fgate_pre = head2("fgate_pre");
    return s;
}

torch::Tensor rebuild_implicit_attention(const store::CaptureReader& reader, int64_t sample,
                                         int block, int64_t head) {
    const MlstmHeadStats s = read_mlstm_head(reader, sample, block, head);
    return models::mlstm::implicit_attention(s.q, s.k, s.igate_pre, s.fgate_pre)[0][0];  // (T, T)
}

models::mlstm::StatesAt rebuild_states(const store::CaptureReader& reader, int64_t sample,
                                       int block, int64_t head,
                                       const std::vector<int64_t>& positions) {
    const MlstmHeadStats s = read_mlstm_head(reader, sample, block, head);
    models::mlstm::StatesAt st =
        models::mlstm::states_at(s.k, s.v, s.igate_pre, s.fgate_pre, positions);
    return {st.C[0][0], st.n[0][0], st.m[0][0]};
}

}  // namespace dxl::capture
