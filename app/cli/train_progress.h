// Progress output of the training commands: a one-line bar with ETA and current losses on a
// terminal (redrawn in place), plain lines otherwise (every ~10 % or eval).
#pragma once

#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "core/data/json_util.h"
#include "core/train/trainer.h"

namespace dxl::cli {

class ProgressPrinter {
  public:
    explicit ProgressPrinter(bool enabled) : m_enabled(enabled), m_tty(::isatty(2) != 0) {}

    void progress(const train::ProgressInfo& p) {
        if (!m_enabled) return;
        auto v = [&](const char* k) { return p.values.count(k) ? p.values.at(k) : 0.0; };
        char losses[160];
        std::snprintf(losses, sizeof losses,
                      "total %.4f ce %.4f kl %.4f lr %.2e gn %.2f %.0f tok/s", v("total"), v("ce"),
                      v("kl"), v("lr"), v("grad_norm"), v("tokens_per_s"));
        const std::string eta = duration(p.eta_s);
        if (m_tty) {
            const int width = 24;
            const double f = p.total_steps > 0 ? static_cast<double>(p.global_step) /
                                                     static_cast<double>(p.total_steps)
                                               : 1.0;
            std::string bar(static_cast<size_t>(f * width), '#');
            bar.resize(width, '.');
            std::fprintf(stderr, "\r[%lld/%lld %s] [%s] %lld/%lld  %s  ETA %s   ",
                         static_cast<long long>(p.stage_index + 1),
                         static_cast<long long>(p.n_stages), p.stage.c_str(), bar.c_str(),
                         static_cast<long long>(p.stage_step),
                         static_cast<long long>(p.stage_steps), losses, eta.c_str());
            m_dirty = true;
        } else {
            const int64_t every = std::max<int64_t>(1, p.stage_steps / 10);
            if (p.stage_step % every == 0 || p.stage_step == p.stage_steps || p.stage_step == 1)
                std::fprintf(
                    stderr, "stage %lld/%lld %s step %lld/%lld (global %lld/%lld) %s ETA %s\n",
                    static_cast<long long>(p.stage_index + 1), static_cast<long long>(p.n_stages),
                    p.stage.c_str(), static_cast<long long>(p.stage_step),
                    static_cast<long long>(p.stage_steps), static_cast<long long>(p.global_step),
                    static_cast<long long>(p.total_steps), losses, eta.c_str());
        }
        std::fflush(stderr);
    }

    void record(const nlohmann::json& r) {
        if (!m_enabled) return;
        const std::string kind = data::json_string_or(r, "kind", "");
        if (kind == "train") return;
        finish();
        const std::string text = data::json_string_or(r, "event", "") + " " + r["metrics"].dump();
        std::fprintf(stderr, "%s step %lld: %s\n", kind.c_str(),
                     static_cast<long long>(r.value("step", int64_t{0})), text.c_str());
    }

    void finish() {
        if (m_dirty) std::fprintf(stderr, "\n");
        m_dirty = false;
    }

  private:
    static std::string duration(double s) {
        char b[32];
        const long long t = static_cast<long long>(s);
        if (t >= 3600)
            std::snprintf(b, sizeof b, "%lldh%02lldm", t / 3600, (t / 60) % 60);
        else
            std::snprintf(b, sizeof b, "%lldm%02llds", t / 60, t % 60);
        return b;
    }
    bool m_enabled;
    bool m_tty;
    bool m_dirty = false;
};

}  // namespace dxl::cli
