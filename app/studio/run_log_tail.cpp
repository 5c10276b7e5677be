// RunLogTail: incremental reads of a run's CRC-framed metric log.
#include "app/studio/run_log_tail.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <algorithm>

#include "core/base/error.h"
#include "core/data/json_util.h"
#include "core/train/run_log.h"

namespace dxl::studio {

void appendPoint(Series& s, double key, double value) {
    if (!s.keys.empty() && key <= s.keys.back()) {
        const auto it = std::lower_bound(s.keys.begin(), s.keys.end(), key);
        const auto n = it - s.keys.begin();
        s.keys.resize(static_cast<size_t>(n));
        s.values.resize(static_cast<size_t>(n));
    }
    s.keys.push_back(key);
    s.values.push_back(value);
}

RunLogTail::RunLogTail(const QString& folder) : m_folder(QDir::cleanPath(folder)) {}

QString RunLogTail::logPath() const {
    return m_folder + QStringLiteral("/run.dxlrec");
}

QString RunLogTail::name() const {
    return QFileInfo(m_folder).fileName();
}

const Series& RunLogTail::trainSeries(const std::string& name) const {
    static const Series kEmpty;
    const auto it = m_train.find(name);
    return it == m_train.end() ? kEmpty : it->second;
}

const Series& RunLogTail::evalSeries(const std::string& name) const {
    static const Series kEmpty;
    const auto it = m_eval.find(name);
    return it == m_eval.end() ? kEmpty : it->second;
}

void RunLogTail::reset() {
    m_offset = 0;
    m_lastStep = 0;
    m_records = 0;
    m_finished = false;
    m_train.clear();
    m_eval.clear();
    m_events.clear();
}

void RunLogTail::add(const nlohmann::json& r) {
    ++m_records;
    const std::string kind = data::json_string_or(r, "kind", "");
    const int64_t step = data::json_int_or(r, "step", 0);
    if (kind == "event") {
        m_events.push_back(r);
        if (data::json_string_or(r, "event", "") == "done") m_finished = true;
        if (data::json_string_or(r, "event", "") == "resume") m_finished = false;
        return;
    }
    if (kind != "train" && kind != "eval") return;
    auto& target = kind == "train" ? m_train : m_eval;
    if (kind == "train") m_lastStep = step;
    if (!r.contains("metrics") || !r.at("metrics").is_object()) return;
    const nlohmann::json& metrics = r.at("metrics");
    for (auto m = metrics.begin(); m != metrics.end(); ++m) {
        if (!m.value().is_number()) continue;
        Series& s = target[m.key()];
        if (s.name.empty()) s.name = m.key();
        appendPoint(s, static_cast<double>(step), m.value().get<double>());
    }
}

int RunLogTail::poll() {
    const QFileInfo info(logPath());
    if (!info.exists()) {
        if (m_offset > 0) reset();
        return 0;
    }
    const int64_t size = info.size();
    if (size == m_lastSize && size == m_offset) return 0;
    if (size < m_offset) reset();  // truncated (resume from a checkpoint)
    m_lastSize = size;
    train::RunLogRead read;
    try {
        read = train::read_run_log(logPath().toStdString(), m_offset);
        if (read.corrupt_tail && read.records.empty() && m_offset > 0) {
            // Rewritten under us (truncated and regrown past our offset): start over.
            reset();
            read = train::read_run_log(logPath().toStdString(), 0);
        }
    } catch (const dxl::Error&) {
        return 0;  // vanished or unreadable between the stat and the open: try next tick
    }
    for (const auto& r : read.records)
        add(r);
    m_offset = read.end_offset;
    return static_cast<int>(read.records.size());
}

int64_t RunLogTail::plannedSteps() const {
    QFile f(m_folder + QStringLiteral("/run_config.json"));
    if (!f.open(QIODevice::ReadOnly)) return 0;
    const auto j = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
    if (j.is_discarded() || !j.contains("stages") || !j["stages"].is_array()) return 0;
    int64_t total = 0;
    for (const auto& s : j["stages"]) {
        const int64_t steps = data::json_int_or(s, "steps", 0);
        if (steps <= 0) return 0;
        total += steps;
    }
    return total;
}

std::vector<std::pair<int64_t, QString>> RunLogTail::checkpoints() const {
    std::vector<std::pair<int64_t, QString>> out;
    const QDir dir(m_folder + QStringLiteral("/checkpoints"));
    const QStringList names =
        dir.entryList({QStringLiteral("step_*")}, QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name);
    for (const QString& n : names) {
        bool ok = false;
        const qlonglong step = n.mid(5).toLongLong(&ok);
        if (ok && QFileInfo::exists(dir.filePath(n) + QStringLiteral("/model.safetensors")))
            out.emplace_back(step, dir.filePath(n));
    }
    const QString final = m_folder + QStringLiteral("/final");
    if (QFileInfo::exists(final + QStringLiteral("/model.safetensors")))
        out.emplace_back(m_lastStep, final);
    return out;
}

}  // namespace dxl::studio
