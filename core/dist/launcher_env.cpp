// Reading the torchrun / SLURM launcher environment (see launcher_env.h).
#include "core/dist/launcher_env.h"

#include <cstdlib>
#include <string>

#include "core/base/error.h"

namespace dxl::dist {

namespace {

int env_int(const EnvLookup& getenv, const char* name, int fallback, int lo, int hi) {
    const char* v = getenv(name);
    if (!v || !*v) return fallback;
    size_t used = 0;
    int x = 0;
    try {
        x = std::stoi(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    DXL_CHECK(used > 0 && v[used] == '\0' && x >= lo && x <= hi, UsageError, "launcher: ", name,
              "='", v, "' is not an integer in [", lo, ", ", hi,
              "]; unset it or start dxl through torchrun / srun");
    return x;
}

bool is_set(const EnvLookup& getenv, const char* name) {
    const char* v = getenv(name);
    return v && *v;
}

}  // namespace

std::optional<LauncherEnv> launcher_env(const EnvLookup& getenv) {
    LauncherEnv e;
    const char *rank_var, *world_var, *local_var;
    if (is_set(getenv, "RANK") || is_set(getenv, "WORLD_SIZE")) {
        DXL_CHECK(is_set(getenv, "RANK") && is_set(getenv, "WORLD_SIZE"), UsageError,
                  "launcher: RANK and WORLD_SIZE must be set together (torchrun sets both)");
        rank_var = "RANK", world_var = "WORLD_SIZE", local_var = "LOCAL_RANK";
        e.source = "torchrun";
    } else if (is_set(getenv, "SLURM_PROCID") && is_set(getenv, "SLURM_NTASKS") &&
               is_set(getenv, "MASTER_ADDR")) {
        rank_var = "SLURM_PROCID", world_var = "SLURM_NTASKS", local_var = "SLURM_LOCALID";
        e.source = "slurm";
    } else {
        return std::nullopt;
    }
    e.world_size = env_int(getenv, world_var, 1, 1, 1 << 20);
    e.rank = env_int(getenv, rank_var, 0, 0, e.world_size - 1);
    e.local_rank = env_int(getenv, local_var, 0, 0, e.world_size - 1);
    if (const char* a = getenv("MASTER_ADDR"); a && *a) e.master_addr = a;
    e.master_port = env_int(getenv, "MASTER_PORT", 29500, 1, 65535);
    const char* agent = getenv("TORCHELASTIC_USE_AGENT_STORE");
    e.agent_store = agent && std::string(agent) == "True";
    return e;
}

std::optional<LauncherEnv> launcher_env() {
    return launcher_env([](const char* n) { return static_cast<const char*>(std::getenv(n)); });
}

}  // namespace dxl::dist
