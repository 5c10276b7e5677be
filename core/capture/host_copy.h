// Moving captured tensors from a GPU to the writer without stalling the GPU. Each tensor is
// converted to its stored dtype on the device (so fp16 maps cross the bus at half the bytes),
// then copied into pinned host memory on a side stream while the forward pass goes on; finished
// copies are handed to the writer thread as ordinary chunks. CPU tensors are handed over at once.
// The file format and the bytes written are the same on every device.
#pragma once

#include <torch/types.h>

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "core/store/capture_schema.h"

namespace c10 {
class Event;
}

namespace dxl::capture {

class HostCopier {
  public:
    using HandOver = std::function<void(store::Chunk&&)>;
    explicit HostCopier(HandOver hand_over);
    ~HostCopier();
    HostCopier(const HostCopier&) = delete;
    HostCopier& operator=(const HostCopier&) = delete;

    // `value` is already in the stored dtype; chunk carries everything but the bytes.
    void put(store::Chunk chunk, const torch::Tensor& value);
    // Hands over every finished copy; with wait, blocks until all are finished (end of sample).
    void drain(bool wait);
    size_t pending() const noexcept { return m_pending.size(); }

  private:
    struct Pending;
    HandOver m_hand_over;
    std::deque<std::unique_ptr<Pending>> m_pending;
};

}  // namespace dxl::capture
