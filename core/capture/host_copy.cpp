// HostCopier (see header). Device-agnostic: c10 streams and events, so the same code builds
// against a CPU-only LibTorch (where every tensor takes the immediate path).
#include "core/capture/host_copy.h"

#include <torch/torch.h>

#include <c10/core/Event.h>
#include <c10/core/StreamGuard.h>
#include <c10/core/impl/VirtualGuardImpl.h>

#include <cstring>

namespace dxl::capture {

struct HostCopier::Pending {
    store::Chunk chunk;
    torch::Tensor source;  // kept alive until the copy has finished (allocator reuse)
    torch::Tensor host;    // pinned, same shape and dtype
    std::unique_ptr<c10::Event> done;
    c10::Stream side;  // waited on at the end of a sample (c10::Event has no wait in 1.13)
};

namespace {
void fill_bytes(store::Chunk& c, const torch::Tensor& host) {
    c.bytes.resize(static_cast<size_t>(host.numel()) * host.element_size());
    if (!c.bytes.empty()) std::memcpy(c.bytes.data(), host.data_ptr(), c.bytes.size());
}
}  // namespace

HostCopier::HostCopier(HandOver hand_over) : m_hand_over(std::move(hand_over)) {}

HostCopier::~HostCopier() {
    // Never leave a copy in flight into memory that is about to be freed.
    for (auto& p : m_pending) {
        try {
            p->side.synchronize();
        } catch (...) {
        }
    }
}

void HostCopier::put(store::Chunk chunk, const torch::Tensor& value) {
    if (!value.is_cuda()) {
        fill_bytes(chunk, value.to(torch::kCPU).contiguous());
        m_hand_over(std::move(chunk));
        return;
    }
    const c10::Device device = value.device();
    c10::impl::VirtualGuardImpl impl(device.type());
    const c10::Stream compute = impl.getStream(device);
    const c10::Stream side = impl.getStreamFromGlobalPool(device);
    auto p = std::make_unique<Pending>(Pending{std::move(chunk), {}, {}, {}, side});
    p->source = value.contiguous();
    p->host =
        torch::empty(p->source.sizes(),
                     torch::TensorOptions().dtype(p->source.scalar_type()).pinned_memory(true));
    // The side stream starts after the compute stream has produced the value.
    c10::Event produced(device.type());
    produced.record(compute);
    produced.block(side);
    {
        c10::StreamGuard on_side(side);
        p->host.copy_(p->source, /*non_blocking=*/true);
    }
    p->done = std::make_unique<c10::Event>(device.type());
    p->done->record(side);
    m_pending.push_back(std::move(p));
    drain(false);
}

void HostCopier::drain(bool wait) {
    // In order: the writer sees chunks in the order the model produced them.
    while (!m_pending.empty()) {
        Pending& p = *m_pending.front();
        if (wait)
            p.side.synchronize();
        else if (!p.done->query())
            return;
        fill_bytes(p.chunk, p.host);
        m_hand_over(std::move(p.chunk));
        m_pending.pop_front();
    }
}

}  // namespace dxl::capture
