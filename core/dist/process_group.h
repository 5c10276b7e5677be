// Data-parallel communication through PyTorch's own c10d (docs/architecture.md#threads):
// ProcessGroupGloo on CPU with a c10d::TCPStore rendezvous. Gradients are all-reduced in
// buckets (flattened into ~bucket_bytes chunks, one collective each). The c10d types stay in
// process_group.cpp.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dxl::dist {

struct DistOptions {
    int rank = 0;
    int world_size = 1;
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    int timeout_s = 300;
};

// "HOST:PORT" -> (host, port); UsageError otherwise.
void parse_master(const std::string& spec, DistOptions& o);

class ProcessGroup {
  public:
    virtual ~ProcessGroup() = default;
    virtual int rank() const = 0;
    virtual int world_size() const = 0;
    // Averages `tensors` over ranks in place (float32), bucketed by bytes.
    virtual void allreduce_mean(std::vector<torch::Tensor>& tensors,
                                int64_t bucket_bytes = 8 << 20) = 0;
    // Sums a float64/float32 tensor over ranks in place.
    virtual void allreduce_sum(torch::Tensor& t) = 0;
    // Copies `tensors` from rank `root` to every rank, in place.
    virtual void broadcast(std::vector<torch::Tensor>& tensors, int root = 0) = 0;
    virtual void barrier() = 0;
};

// world_size 1: a local no-op group. Otherwise rendezvous at master_addr:master_port (rank 0
// hosts the TCPStore) and build a Gloo group. IoError with a remedy on timeout.
std::unique_ptr<ProcessGroup> connect(const DistOptions& o);

// Starts `nproc` copies of `exe` with `args` + "--rank R --world-size N --master 127.0.0.1:PORT"
// (fork/exec), waits for all, and returns the first non-zero exit status (0 when all succeed).
// When one worker fails, the others are terminated. Torch-free (launcher.cpp).
int launch_local_workers(const std::string& exe, const std::vector<std::string>& args, int nproc,
                         int port);
// A free TCP port on 127.0.0.1 (bind to port 0).
int pick_free_port();

}  // namespace dxl::dist
