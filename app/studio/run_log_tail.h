// RunLogTail: follows one distillation run's metric log (OUT/run.dxlrec, written by the core
// trainer or by `dxl distill`) and keeps its records as plottable series. The dock polls it on a
// GUI timer (30-50 ms): each poll reads only the bytes appended since the last one, so a run
// emits no per-step signal. A log that shrank or changed under the reader (`--resume auto`
// truncates it to the checkpoint) is read again from the start; a step that repeats an earlier
// one (resume, non-finite rollback) replaces the points from that step on. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <QString>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/base/value_types.h"

namespace dxl::studio {

class RunLogTail {
  public:
    // folder: the run's out_dir (holds run.dxlrec and run_config.json).
    explicit RunLogTail(const QString& folder);

    // Reads what was appended since the last poll. Returns the number of new records (0 when
    // the file does not exist yet or nothing changed).
    int poll();

    const QString& folder() const { return m_folder; }
    QString logPath() const;
    QString name() const;  // the folder's base name
    // Metric name -> (step, value) of the "train" / "eval" records.
    const std::map<std::string, Series>& train() const { return m_train; }
    const std::map<std::string, Series>& eval() const { return m_eval; }
    const std::vector<nlohmann::json>& events() const { return m_events; }
    // Training metric `name` (empty series when absent).
    const Series& trainSeries(const std::string& name) const;
    const Series& evalSeries(const std::string& name) const;
    int64_t lastStep() const { return m_lastStep; }
    int64_t recordCount() const { return m_records; }
    bool finished() const { return m_finished; }  // a "done" event was read
    int64_t bytesRead() const { return m_offset; }
    // Total optimiser steps from OUT/run_config.json (0 when unknown or given as tokens).
    int64_t plannedSteps() const;
    // Checkpoint folders OUT/checkpoints/step_* as (step, path), oldest first, plus OUT/final.
    std::vector<std::pair<int64_t, QString>> checkpoints() const;

  private:
    void reset();
    void add(const nlohmann::json& record);

    QString m_folder;
    int64_t m_offset = 0;
    int64_t m_lastSize = -1;
    int64_t m_lastStep = 0;
    int64_t m_records = 0;
    bool m_finished = false;
    std::map<std::string, Series> m_train, m_eval;
    std::vector<nlohmann::json> m_events;
};

// Appends (key, value) to s, first dropping the points with key >= `key` (a replayed step).
void appendPoint(Series& s, double key, double value);

}  // namespace dxl::studio
