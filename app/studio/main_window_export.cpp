// MainWindow, figure export: which figures exist, their provenance, and writing them without
// replacing anyone's files unasked.
#include "app/studio/main_window.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QLabel>
#include <QMessageBox>
#include <QTabWidget>

#include "app/studio/alignment_page.h"
#include "app/studio/attention_page.h"
#include "app/studio/capture_bar.h"
#include "app/studio/distill_dock.h"
#include "app/studio/heads_dock.h"
#include "app/studio/lens_page.h"
#include "app/studio/state_page.h"
#include "dxl/config.h"
#include "widgets/alignment_matrix.h"
#include "widgets/attention_lines.h"
#include "widgets/figure_export.h"
#include "widgets/head_grid.h"
#include "widgets/line_plot.h"
#include "widgets/linked_heatmaps.h"
#include "widgets/token_strip.h"

namespace dxl::studio {

namespace {
// The files of `figs` that an export into dir with opt would replace.
QStringList existingTargets(const QList<widgets::ExportableFigure*>& figs, const QString& dir,
                            const widgets::ExportOptions& opt) {
    QStringList existing;
    for (widgets::ExportableFigure* f : figs)
        for (const QString& path : widgets::exportTargets(*f, dir, opt))
            if (QFileInfo::exists(path)) existing << path;
    return existing;
}
}  // namespace

QList<widgets::ExportableFigure*> MainWindow::figures() const {
    QList<widgets::ExportableFigure*> all = {
        m_attention->linked(),  m_attention->lines(),   m_attention->klStrip(),
        m_heads->teacherGrid(), m_heads->studentGrid(), m_alignmentPage->matrix(),
        m_state->stateMap(),    m_state->normPlot(),    m_state->gatePlot()};
    if (m_lens->hasLens()) all << m_lens->teacherMap() << m_lens->studentMap() << m_lens->pairMap();
    all << m_distill->figures();  // the live plots, once a run has logged
    return all;
}

QJsonObject MainWindow::provenance() const {
    QJsonObject p;
    p.insert(QStringLiteral("teacher"), QString::fromStdString(m_models.teacher.dir));
    p.insert(QStringLiteral("teacher_architecture"),
             QString::fromStdString(m_models.teacher.architecture));
    p.insert(QStringLiteral("student"), QString::fromStdString(m_models.student.dir));
    p.insert(QStringLiteral("student_architecture"),
             QString::fromStdString(m_models.student.architecture));
    QJsonArray ids;
    for (int64_t id : m_summary.tokens.ids)
        ids.append(static_cast<qint64>(id));
    p.insert(QStringLiteral("input_token_ids"), ids);
    p.insert(QStringLiteral("student_normalisation"),
             QString::fromLatin1(normName(m_summary.norm)));
    // The display filter and map mode of the linked maps (the session below has them too).
    const Selection sel = m_attention->selection();
    QJsonObject filter = mapFilterJson(sel.filter);
    filter.insert(QStringLiteral("text"),
                  QString::fromStdString(filterText(sel.filter, sel.norm == StudentNorm::Raw)));
    p.insert(QStringLiteral("display_filter"), filter);
    p.insert(QStringLiteral("map_mode"), sel.mode == MapMode::Rollout
                                             ? QStringLiteral("rollout")
                                             : QStringLiteral("single_head"));
    p.insert(QStringLiteral("token_highlight"), QString::fromLatin1(highlightKey(sel.highlight)));
    p.insert(QStringLiteral("display_flags"), QString::fromStdString(displayFlags(sel)));
    p.insert(QStringLiteral("alignment_metric"), m_alignmentPage->metric());
    p.insert(QStringLiteral("layer_map"),
             QString::fromStdString(m_alignmentPage->layerMap().source));
    if (m_captureMode) {
        p.insert(QStringLiteral("capture"), m_captureBar->path());
        p.insert(QStringLiteral("capture_sample"), m_captureBar->sample());
    }
    p.insert(QStringLiteral("session"), sessionJson());
    return p;
}

widgets::ExportOptions MainWindow::exportOptions(bool overwrite) const {
    widgets::ExportOptions opt;
    opt.provenance = provenance();
    opt.overwrite = overwrite;
    // Exporting a second sample of a capture must not replace the first one's figures.
    if (m_captureMode) opt.nameSuffix = QStringLiteral("_sample%1").arg(m_captureBar->sample());
    return opt;
}

bool MainWindow::confirmReplace(const QStringList& existing) {
    if (existing.isEmpty()) return true;
    return QMessageBox::question(
               this, tr("Replace files?"),
               tr("%n file(s) already exist, e.g. %1. Replace them?", nullptr, existing.size())
                   .arg(existing.front()),
               QMessageBox::Yes | QMessageBox::Cancel, QMessageBox::Cancel) == QMessageBox::Yes;
}

QStringList MainWindow::exportAllFigures(const QString& dir, QString* error, bool overwrite) {
    const widgets::ExportOptions opt = exportOptions(overwrite);
    // Every figure is checked first: a refusal writes nothing at all.
    if (const QStringList existing = existingTargets(figures(), dir, opt);
        !overwrite && !existing.isEmpty()) {
        if (error)
            *error = tr("export: %1 already exists; export into another folder or confirm "
                        "replacing it (dxl-studio --export: --force)")
                         .arg(existing.front());
        return {};
    }
    QStringList all;
    for (widgets::ExportableFigure* f : figures()) {
        const QStringList files = widgets::exportFigure(*f, dir, opt, error);
        if (files.isEmpty()) return {};
        all << files;
    }
    return all;
}

void MainWindow::exportCurrentFigure() {
    widgets::ExportableFigure* fig =
        m_tabs->currentIndex() == 1
            ? static_cast<widgets::ExportableFigure*>(m_alignmentPage->matrix())
        : m_tabs->currentIndex() == 2
            ? static_cast<widgets::ExportableFigure*>(m_state->stateMap())
            : static_cast<widgets::ExportableFigure*>(m_attention->linked());
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Export %1 into folder").arg(fig->figureName()));
    if (dir.isEmpty()) return;
    widgets::ExportOptions opt = exportOptions(false);
    if (!confirmReplace(existingTargets({fig}, dir, opt))) return;
    opt.overwrite = true;  // confirmed, or nothing to replace
    QString error;
    const QStringList files = widgets::exportFigure(*fig, dir, opt, &error);
    if (files.isEmpty()) {
        QMessageBox::warning(this, tr("Export failed"), error);
    } else {
        m_status->setText(tr("Exported %1 files to %2").arg(files.size()).arg(dir));
    }
}

void MainWindow::exportAllDialog() {
    const QString dir =
        QFileDialog::getExistingDirectory(this, tr("Export all figures into folder"));
    if (dir.isEmpty()) return;
    if (!confirmReplace(existingTargets(figures(), dir, exportOptions(false)))) return;
    QString error;
    const QStringList files = exportAllFigures(dir, &error, /*overwrite=*/true);
    if (files.isEmpty()) {
        QMessageBox::warning(this, tr("Export failed"), error);
    } else {
        m_status->setText(tr("Exported %1 files to %2").arg(files.size()).arg(dir));
    }
}

}  // namespace dxl::studio
