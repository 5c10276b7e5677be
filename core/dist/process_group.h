// Data-parallel communication through PyTorch's own c10d: ProcessGroupNCCL between CUDA devices
// (on CUDA builds of LibTorch that ship NCCL), ProcessGroupGloo otherwise, with a c10d::TCPStore
// rendezvous. Gradients are all-reduced in buckets (flattened into ~bucket_bytes chunks, one
// collective each). Tensors on another device than the group's are staged through it. The c10d
// types stay in process_group.cpp.
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
    // The store at master_addr:master_port already exists (torchrun's agent serves it): every
    // rank connects as a client under a "dxl/" key prefix instead of rank 0 hosting one.
    bool store_exists = false;
    // Where this rank computes: a CUDA device selects NCCL when this build has it (else Gloo,
    // staging through host memory).
    torch::Device device = torch::kCPU;
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
    virtual const char* backend_name() const = 0;  // "local" | "gloo" | "nccl"
};

// world_size 1: a local no-op group. Otherwise rendezvous at master_addr:master_port (rank 0
// hosts the TCPStore unless store_exists) and build an NCCL or Gloo group (backend_name()).
// IoError with a remedy on timeout.
std::unique_ptr<ProcessGroup> connect(const DistOptions& o);

// Starts `nproc` copies of `exe` with `args` + "--rank R --world-size N --master 127.0.0.1:PORT"
// and LOCAL_RANK=R in their environment (fork/exec), waits for all, and returns the first non-zero
// exit status (0 when all succeed). When one worker fails, the others are terminated. Torch-free
// (launcher.cpp).
int launch_local_workers(const std::string& exe, const std::vector<std::string>& args, int nproc,
                         int port);
// A free TCP port on 127.0.0.1 (bind to port 0).
int pick_free_port();

}  // namespace dxl::dist
