// MainWindow, session files: every pane's selection, zoom, colour scale, layer map, tab and the
// window layout as one JSON object (format "dxl-studio-session", version 1), restored after the
// models or the capture named in it have loaded.
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <algorithm>

#include "app/studio/alignment_page.h"
#include "app/studio/attention_page.h"
#include "app/studio/capture_bar.h"
#include "app/studio/layer_map_editor.h"
#include "app/studio/main_window.h"
#include "app/studio/state_page.h"
#include "core/analysis/display_options.h"
#include "widgets/linked_heatmaps.h"

namespace dxl::studio {

namespace {

using Preset = LayerMapEditor::Preset;
const std::pair<Preset, const char*> kPresetKeys[] = {{Preset::AllPairs, "all-pairs"},
                                                      {Preset::RatioAllBlocks, "ratio"},
                                                      {Preset::RatioMlstmOnly, "ratio-mlstm"},
                                                      {Preset::Custom, "custom"}};

// {"preset": key, "pairs": [[teacher layer, student block], ...]} (pairs only for "custom").
QJsonObject layerMapJson(const LayerMapEditor& editor) {
    QJsonObject o;
    for (const auto& [p, key] : kPresetKeys)
        if (p == editor.preset()) o.insert(QStringLiteral("preset"), QString::fromLatin1(key));
    if (editor.preset() == Preset::Custom) {
        QJsonArray pairs;
        for (const auto& [l, b] : editor.spec().pairs)
            pairs.append(QJsonArray{l, b});
        o.insert(QStringLiteral("pairs"), pairs);
    }
    return o;
}

// Unknown presets and pairs outside the loaded models are ignored (a session of other models).
void restoreLayerMap(LayerMapEditor& editor, const QJsonObject& o) {
    const QString key = o.value(QStringLiteral("preset")).toString();
    for (const auto& [p, name] : kPresetKeys) {
        if (key != QLatin1String(name)) continue;
        if (p != Preset::Custom) {
            editor.setPreset(p);
            return;
        }
        std::vector<std::pair<int, int>> pairs;
        for (const QJsonValue& v : o.value(QStringLiteral("pairs")).toArray()) {
            const QJsonArray a = v.toArray();
            if (a.size() == 2) pairs.emplace_back(a[0].toInt(-1), a[1].toInt(-1));
        }
        editor.setPairs(pairs);
        return;
    }
}

}  // namespace

QJsonObject mapFilterJson(const MapFilter& f) {
    QJsonObject o;
    o.insert(QStringLiteral("threshold"), f.threshold);
    o.insert(QStringLiteral("top_k"), f.topK);
    o.insert(QStringLiteral("drop_sink"), f.dropSink);
    return o;
}

std::string displayFlags(const Selection& s) {
    analysis::ShowRequest q;
    q.teacher_layer = s.teacherLayer;
    q.teacher_head = s.teacherHead;
    q.student_block = s.studentBlock;
    q.student_head = s.studentHead;
    q.rollout = s.mode == MapMode::Rollout;
    q.norm = static_cast<analysis::StudentNorm>(s.norm);  // same order (studio_types.h)
    q.filter.threshold = s.filter.threshold;
    q.filter.top_k = s.filter.topK;
    q.filter.drop_sink = s.filter.dropSink;
    q.highlight = static_cast<analysis::Highlight>(s.highlight);  // same order
    return analysis::display_flags(q);
}

// Missing keys leave that filter off; negative values (a hand-edited file) are clamped to off.
MapFilter mapFilterFromJson(const QJsonObject& o) {
    MapFilter f;
    f.threshold = std::max(0.0, o.value(QStringLiteral("threshold")).toDouble(0.0));
    f.topK = std::max(0, o.value(QStringLiteral("top_k")).toInt(0));
    f.dropSink = o.value(QStringLiteral("drop_sink")).toBool(false);
    return f;
}

QJsonObject MainWindow::sessionJson() const {
    const Selection s = m_attention->selection();
    QJsonObject o;
    o.insert(QStringLiteral("format"), QStringLiteral("dxl-studio-session"));
    o.insert(QStringLiteral("version"), 1);
    o.insert(QStringLiteral("teacher"), QString::fromStdString(m_models.teacher.dir));
    o.insert(QStringLiteral("student"), QString::fromStdString(m_models.student.dir));
    o.insert(QStringLiteral("input"), m_attention->input());
    o.insert(QStringLiteral("teacher_layer"), s.teacherLayer);
    o.insert(QStringLiteral("teacher_head"), s.teacherHead);
    o.insert(QStringLiteral("student_block"), s.studentBlock);
    o.insert(QStringLiteral("student_head"), s.studentHead);
    o.insert(QStringLiteral("norm"), QString::fromLatin1(normKey(s.norm)));
    o.insert(QStringLiteral("color_scale"), s.scale);
    o.insert(QStringLiteral("shared_color_range"), s.sharedRange);
    o.insert(QStringLiteral("token"), s.token);
    o.insert(QStringLiteral("map_filter"), mapFilterJson(s.filter));
    o.insert(QStringLiteral("map_mode"), s.mode == MapMode::Rollout
                                             ? QStringLiteral("rollout")
                                             : QStringLiteral("single_head"));
    o.insert(QStringLiteral("token_highlight"), QString::fromLatin1(highlightKey(s.highlight)));
    o.insert(QStringLiteral("tab"), m_tabs->currentIndex());
    o.insert(QStringLiteral("alignment_metric"), m_alignmentPage->metric());
    o.insert(QStringLiteral("layer_map"), layerMapJson(*m_alignmentPage->layerMapEditor()));
    const auto* pane = m_attention->linked()->teacherPane();
    o.insert(QStringLiteral("zoom_x"),
             QJsonArray{pane->viewRangeX().lower, pane->viewRangeX().upper});
    o.insert(QStringLiteral("zoom_y"),
             QJsonArray{pane->viewRangeY().lower, pane->viewRangeY().upper});
    o.insert(QStringLiteral("state_t"), m_state->t());
    if (m_captureMode) {
        o.insert(QStringLiteral("capture"), m_captureBar->path());
        o.insert(QStringLiteral("capture_sample"), m_captureBar->sample());
    }
    o.insert(QStringLiteral("window_geometry"), QString::fromLatin1(saveGeometry().toBase64()));
    o.insert(QStringLiteral("window_state"), QString::fromLatin1(saveState().toBase64()));
    return o;
}

void MainWindow::restoreSession(const QJsonObject& o) {
    // Keys a session leaves out keep the current (default) selection.
    Selection s = m_attention->selection();
    s.teacherLayer = o.value(QStringLiteral("teacher_layer")).toInt(s.teacherLayer);
    s.teacherHead = o.value(QStringLiteral("teacher_head")).toInt(s.teacherHead);
    s.studentBlock = o.value(QStringLiteral("student_block")).toInt(s.studentBlock);
    s.studentHead = o.value(QStringLiteral("student_head")).toInt(s.studentHead);
    s.norm = normFromKey(o.value(QStringLiteral("norm")).toString().toStdString());
    s.scale = o.value(QStringLiteral("color_scale")).toInt();
    s.sharedRange = o.value(QStringLiteral("shared_color_range")).toBool(true);
    s.filter = mapFilterFromJson(o.value(QStringLiteral("map_filter")).toObject());
    s.mode = o.value(QStringLiteral("map_mode")).toString() == QStringLiteral("rollout")
                 ? MapMode::Rollout
                 : MapMode::SingleHead;
    s.highlight =
        highlightFromKey(o.value(QStringLiteral("token_highlight")).toString().toStdString());
    // A block without implicit attention (sLSTM, or past the end for these models) shows the
    // first mLSTM block instead of failing on every map request (a rollout may end on any block).
    const auto& types = m_models.student.blockTypes;
    const auto block = static_cast<size_t>(std::max(0, s.studentBlock));
    if (s.mode == MapMode::SingleHead && !types.empty() &&
        (block >= types.size() || types[block] != "mlstm")) {
        const auto first = std::find(types.begin(), types.end(), std::string("mlstm"));
        if (first != types.end()) s.studentBlock = static_cast<int>(first - types.begin());
    }
    m_attention->setSelection(s);
    m_tabs->setCurrentIndex(o.value(QStringLiteral("tab")).toInt());
    m_alignmentPage->setMetric(
        o.value(QStringLiteral("alignment_metric")).toString(QStringLiteral("js")));
    if (o.contains(QStringLiteral("layer_map")))
        restoreLayerMap(*m_alignmentPage->layerMapEditor(),
                        o.value(QStringLiteral("layer_map")).toObject());
    restoreGeometry(
        QByteArray::fromBase64(o.value(QStringLiteral("window_geometry")).toString().toLatin1()));
    restoreState(
        QByteArray::fromBase64(o.value(QStringLiteral("window_state")).toString().toLatin1()));
    const QJsonArray zx = o.value(QStringLiteral("zoom_x")).toArray(),
                     zy = o.value(QStringLiteral("zoom_y")).toArray();
    if (zx.size() == 2 && zy.size() == 2) {
        m_attention->linked()->teacherPane()->setViewRange(
            QCPRange(zx[0].toDouble(), zx[1].toDouble()),
            QCPRange(zy[0].toDouble(), zy[1].toDouble()));
        m_attention->linked()->studentPane()->setViewRange(
            QCPRange(zx[0].toDouble(), zx[1].toDouble()),
            QCPRange(zy[0].toDouble(), zy[1].toDouble()));
        m_attention->linked()->differencePane()->setViewRange(
            QCPRange(zx[0].toDouble(), zx[1].toDouble()),
            QCPRange(zy[0].toDouble(), zy[1].toDouble()));
    }
}

bool MainWindow::saveSession(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate)) return false;
    return f.write(QJsonDocument(sessionJson()).toJson()) > 0;
}

bool MainWindow::loadSession(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return false;
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    if (o.value(QStringLiteral("format")).toString() != QStringLiteral("dxl-studio-session"))
        return false;
    m_pendingSession = o;
    if (const QString capture = o.value(QStringLiteral("capture")).toString(); !capture.isEmpty()) {
        openCapture(capture);
        return true;
    }
    openModels(o.value(QStringLiteral("teacher")).toString(),
               o.value(QStringLiteral("student")).toString(),
               o.value(QStringLiteral("input")).toString());
    return true;
}

}  // namespace dxl::studio
