// Joining a run from the standard launcher environment, as every PyTorch job does: torchrun sets
// RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT for each worker; under SLURM `srun`
// (without torchrun) SLURM_PROCID, SLURM_NTASKS and SLURM_LOCALID stand in for the first three and
// the batch script exports MASTER_ADDR / MASTER_PORT. Torch-free.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace dxl::dist {

struct LauncherEnv {
    int rank = 0;
    int world_size = 1;
    int local_rank = 0;  // rank on this machine: picks cuda:LOCAL_RANK
    std::string master_addr = "127.0.0.1";
    int master_port = 29500;
    // torchrun's agent already serves the rendezvous store on MASTER_ADDR:MASTER_PORT
    // (TORCHELASTIC_USE_AGENT_STORE=True): every rank connects to it as a client.
    bool agent_store = false;
    std::string source;  // "torchrun" (RANK/WORLD_SIZE) or "slurm" (SLURM_PROCID/SLURM_NTASKS)
};

using EnvLookup = std::function<const char*(const char*)>;

// The launcher environment, or nullopt when no launcher started this process: RANK and
// WORLD_SIZE set (LOCAL_RANK defaults to 0, MASTER_ADDR to 127.0.0.1, MASTER_PORT to 29500), or
// else SLURM_PROCID, SLURM_NTASKS and MASTER_ADDR set (SLURM_LOCALID -> local rank). UsageError
// naming the variable for a non-numeric or out-of-range value.
std::optional<LauncherEnv> launcher_env(const EnvLookup& getenv);
std::optional<LauncherEnv> launcher_env();  // from the process environment

}  // namespace dxl::dist
