// Δ-schedules (v_k = v_f + (v_0 - v_f) / (1 + ln(1 + k))), linear, cosine and the LR schedule.
#include "core/train/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"
#include "core/data/json_util.h"

namespace dxl::train {

namespace {
constexpr double kPi = 3.14159265358979323846;
}

double Schedule::epoch_start(int64_t epoch) const {
    double v0 = start;
    const bool decreasing = end <= start;
    for (int64_t e = 0; e < epoch; ++e) {
        double next = v0;
        if (decay == EpochDecay::Multiplicative) next = v0 - delta * v0;
        if (decay == EpochDecay::Subtractive) next = decreasing ? v0 - delta : v0 + delta;
        v0 = decreasing ? std::max(next, end) : std::min(next, end);
        if (decay == EpochDecay::None) break;
    }
    return v0;
}

double Schedule::value(int64_t epoch, int64_t step_in_epoch, int64_t step,
                       int64_t stage_steps) const {
    switch (kind) {
        case ScheduleKind::Constant:
            return start;
        case ScheduleKind::Delta: {
            const double v0 = epoch_start(epoch);
            return end +
                   (v0 - end) /
                       (1.0 + std::log1p(static_cast<double>(std::max<int64_t>(step_in_epoch, 0))));
        }
        case ScheduleKind::Linear:
        case ScheduleKind::Cosine: {
            const int64_t n = total_steps > 0 ? total_steps : stage_steps;
            const double f =
                n <= 1
                    ? 1.0
                    : std::clamp(static_cast<double>(step) / static_cast<double>(n - 1), 0.0, 1.0);
            const double w = kind == ScheduleKind::Linear ? f : 0.5 * (1.0 - std::cos(kPi * f));
            return start + (end - start) * w;
        }
    }
    return start;
}

Schedule parse_schedule(const nlohmann::json& j, const std::string& where) {
    if (j.is_number()) return Schedule::constant(j.get<double>());
    DXL_CHECK(j.is_object(), FormatError, where,
              ": expected a number or a schedule object {\"kind\": \"delta\", ...}");
    Schedule s;
    try {
        const std::string kind = data::json_string_or(j, "kind", "constant");
        if (kind == "constant")
            s.kind = ScheduleKind::Constant;
        else if (kind == "delta")
            s.kind = ScheduleKind::Delta;
        else if (kind == "linear")
            s.kind = ScheduleKind::Linear;
        else if (kind == "cosine")
            s.kind = ScheduleKind::Cosine;
        else
            throw FormatError(where + ": kind: expected constant|delta|linear|cosine, but got '" +
                              kind + "'");
        if (j.contains("value")) s.start = s.end = j.at("value").get<double>();
        s.start = j.value("start", s.start);
        s.end = j.value("end", s.kind == ScheduleKind::Constant ? s.start : s.end);
        const std::string decay = data::json_string_or(j, "decay", "multiplicative");
        if (decay == "multiplicative")
            s.decay = EpochDecay::Multiplicative;
        else if (decay == "subtractive")
            s.decay = EpochDecay::Subtractive;
        else if (decay == "none")
            s.decay = EpochDecay::None;
        else
            throw FormatError(where +
                              ": decay: expected multiplicative|subtractive|none, but got '" +
                              decay + "'");
        s.delta = j.value("delta", s.delta);
        s.total_steps = j.value("total_steps", s.total_steps);
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(where + ": bad schedule (" + e.what() + ")");
    }
    if (s.kind == ScheduleKind::Constant) s.end = s.start;
    return s;
}

nlohmann::json to_json(const Schedule& s) {
    if (s.kind == ScheduleKind::Constant) return s.start;
    const char* kinds[] = {"constant", "delta", "linear", "cosine"};
    const char* decays[] = {"none", "multiplicative", "subtractive"};
    nlohmann::json j{{"kind", kinds[static_cast<int>(s.kind)]}, {"start", s.start}, {"end", s.end}};
    if (s.kind == ScheduleKind::Delta) {
        j["decay"] = decays[static_cast<int>(s.decay)];
        j["delta"] = s.delta;
    } else if (s.total_steps > 0) {
        j["total_steps"] = s.total_steps;
    }
    return j;
}

double cosine_lr(double lr, int64_t step, int64_t total_steps, int64_t warmup_steps,
                 double min_ratio) {
    if (warmup_steps > 0 && step < warmup_steps)
        return lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps);
    const int64_t span = std::max<int64_t>(1, total_steps - warmup_steps);
    const double f =
        std::clamp(static_cast<double>(step - warmup_steps) / static_cast<double>(span), 0.0, 1.0);
    return lr * (min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + std::cos(kPi * f)));
}

}  // namespace dxl::train
