// c10d ProcessGroupNCCL / ProcessGroupGloo + TCPStore implementation of dist::ProcessGroup.
#include "core/dist/process_group.h"

#include <torch/torch.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>

#include "core/dist/nccl_compat.h"

#include "core/base/error.h"

namespace dxl::dist {

void parse_master(const std::string& spec, DistOptions& o) {
    const auto c = spec.rfind(':');
    DXL_CHECK(c != std::string::npos && c > 0 && c + 1 < spec.size(), UsageError,
              "--master: expected HOST:PORT, but got '", spec, "'");
    o.master_addr = spec.substr(0, c);
    try {
        o.master_port = std::stoi(spec.substr(c + 1));
    } catch (const std::exception&) {
        throw UsageError("--master: expected a numeric port, but got '" + spec + "'");
    }
    DXL_CHECK(o.master_port > 0 && o.master_port < 65536, UsageError,
              "--master: port out of range: ", o.master_port);
}

namespace {

class LocalGroup final : public ProcessGroup {
  public:
    int rank() const override { return 0; }
    int world_size() const override { return 1; }
    void allreduce_mean(std::vector<torch::Tensor>&, int64_t) override {}
    void allreduce_sum(torch::Tensor&) override {}
    void broadcast(std::vector<torch::Tensor>&, int) override {}
    void barrier() override {}
    const char* backend_name() const override { return "local"; }
};

// A c10d backend (ProcessGroupGloo or ProcessGroupNCCL) behind dist::ProcessGroup. Collectives
// run on m_device; tensors elsewhere are staged through it.
template <class Backend>
class C10dGroup final : public ProcessGroup {
  public:
    C10dGroup(const DistOptions& o, c10::intrusive_ptr<Backend> pg, const char* name,
              torch::Device device)
        : m_rank(o.rank),
          m_world(o.world_size),
          m_pg(std::move(pg)),
          m_name(name),
          m_device(device) {}
    int rank() const override { return m_rank; }
    int world_size() const override { return m_world; }
    const char* backend_name() const override { return m_name; }

    void allreduce_mean(std::vector<torch::Tensor>& tensors, int64_t bucket_bytes) override {
        torch::NoGradGuard no_grad;
        size_t i = 0;
        while (i < tensors.size()) {
            // One bucket: consecutive tensors up to bucket_bytes, flattened into one buffer.
            size_t j = i;
            int64_t bytes = 0;
            std::vector<torch::Tensor> flat;
            while (j < tensors.size() &&
                   (j == i || bytes + tensors[j].numel() * 4 <= bucket_bytes)) {
                bytes += tensors[j].numel() * 4;
                flat.push_back(tensors[j].reshape({-1}).to(m_device));
                ++j;
            }
            std::vector<torch::Tensor> buf{torch::cat(flat)};  // (sum numel)
            m_pg->allreduce(buf)->wait();
            buf[0].div_(static_cast<double>(m_world));
            int64_t off = 0;
            for (size_t k = i; k < j; ++k) {
                const int64_t n = tensors[k].numel();
                tensors[k].copy_(buf[0].narrow(0, off, n).view_as(tensors[k]));
                off += n;
            }
            i = j;
        }
    }
    void allreduce_sum(torch::Tensor& t) override {
        std::vector<torch::Tensor> v{t.to(m_device)};
        m_pg->allreduce(v)->wait();
        if (!v[0].is_same(t)) t.copy_(v[0]);
    }
    void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
        c10d::BroadcastOptions bo;
        bo.rootRank = root;
        for (auto& t : tensors) {
            std::vector<torch::Tensor> v{t.to(m_device)};
            m_pg->broadcast(v, bo)->wait();
            if (!v[0].is_same(t)) t.copy_(v[0]);
        }
    }
    void barrier() override {
        torch::Tensor t = torch::zeros({1}, torch::TensorOptions().device(m_device));
        allreduce_sum(t);
    }

  private:
    int m_rank, m_world;
    c10::intrusive_ptr<Backend> m_pg;
    const char* m_name;
    torch::Device m_device;
};

c10::intrusive_ptr<c10d::Store> make_store(const DistOptions& o) {
    c10d::TCPStoreOptions so;
    so.port = static_cast<std::uint16_t>(o.master_port);
    so.isServer = o.rank == 0 && !o.store_exists;
    if (!o.store_exists) so.numWorkers = static_cast<size_t>(o.world_size);
    so.timeout = std::chrono::seconds(o.timeout_s);
    auto tcp = c10::make_intrusive<c10d::TCPStore>(o.master_addr, so);
    if (!o.store_exists) return tcp;
    // torchrun's own keys live in the same store.
    return c10::make_intrusive<c10d::PrefixStore>("dxl", tcp);
}

std::unique_ptr<ProcessGroup> make_group(const DistOptions& o) {
    auto store = make_store(o);
#if DXL_HAVE_NCCL_GROUP
    if (o.device.is_cuda()) {
        auto opts = c10d::ProcessGroupNCCL::Options::create();
        opts->timeout = std::chrono::milliseconds(o.timeout_s * 1000);
        auto pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, o.rank, o.world_size, opts);
        return std::make_unique<C10dGroup<c10d::ProcessGroupNCCL>>(o, pg, "nccl", o.device);
    }
#endif
    auto opts = c10d::ProcessGroupGloo::Options::create();
    opts->timeout = std::chrono::seconds(o.timeout_s);
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(o.master_addr));
    auto pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.world_size, opts);
    return std::make_unique<C10dGroup<c10d::ProcessGroupGloo>>(o, pg, "gloo", torch::kCPU);
}

}  // namespace

std::unique_ptr<ProcessGroup> connect(const DistOptions& o) {
    DXL_CHECK(o.world_size >= 1 && o.rank >= 0 && o.rank < o.world_size, UsageError,
              "dist: expected 0 <= rank < world size, but got rank ", o.rank, " of ", o.world_size);
    if (o.world_size == 1) return std::make_unique<LocalGroup>();
    try {
        return make_group(o);
    } catch (const std::exception& e) {
        throw IoError("dist: rank " + std::to_string(o.rank) + " could not join " + o.master_addr +
                      ":" + std::to_string(o.master_port) + " (" + e.what() +
                      "); check that every rank uses the same master address and port and that "
                      "the port is free");
    }
}

}  // namespace dxl::dist
