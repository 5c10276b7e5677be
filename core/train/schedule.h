// Scalar schedules for loss weights, temperature and learning rate (docs/method.md#schedules).
// Every value is a pure function of (epoch, step-in-epoch, step-in-stage), so all ranks agree
// without communication (the authors' rank-0-only update is a pitfall).
// Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace dxl::train {

enum class ScheduleKind { Constant, Delta, Linear, Cosine };
enum class EpochDecay { None, Multiplicative, Subtractive };

struct Schedule {
    ScheduleKind kind = ScheduleKind::Constant;
    double start = 0.0;  // v_0 (value at step 0 of epoch 0)
    double end = 0.0;    // v_f
    // Delta: epoch-start decay v_0 <- v_0 (1 - delta) (multiplicative, the authors' code) or
    // v_0 - delta (subtractive, the third-party guide), never past `end`.
    EpochDecay decay = EpochDecay::Multiplicative;
    double delta = 0.05;
    int64_t total_steps = 0;  // Linear/Cosine: steps from start to end (0 = the stage length)

    static Schedule constant(double v) {
        return Schedule{ScheduleKind::Constant, v, v, EpochDecay::None, 0, 0};
    }

    // The epoch-start value v_0^(e) of a Delta schedule.
    double epoch_start(int64_t epoch) const;
    // epoch / step_in_epoch drive Delta; step (in the stage) and stage_steps drive Linear/Cosine.
    double value(int64_t epoch, int64_t step_in_epoch, int64_t step, int64_t stage_steps) const;
};

// A number is a constant; an object {"kind": "delta|linear|cosine|constant", "start", "end",
// "decay": "multiplicative|subtractive|none", "delta", "total_steps"}. FormatError naming `where`.
Schedule parse_schedule(const nlohmann::json& j, const std::string& where);
nlohmann::json to_json(const Schedule& s);

// Learning rate: linear warm-up over warmup_steps, then cosine from lr to lr * min_ratio.
double cosine_lr(double lr, int64_t step, int64_t total_steps, int64_t warmup_steps,
                 double min_ratio);

}  // namespace dxl::train
