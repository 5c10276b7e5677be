// AlignmentPage.
#include "app/studio/alignment_page.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QVBoxLayout>

#include "app/studio/layer_map_editor.h"
#include "widgets/alignment_matrix.h"

namespace dxl::studio {

AlignmentPage::AlignmentPage(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* row = new QHBoxLayout();
    m_metric = new QComboBox(this);
    m_metric->setObjectName(QStringLiteral("metricCombo"));
    for (const char* m : {"js", "kl", "frob", "pearson", "spearman", "cosine", "topk"})
        m_metric->addItem(QString::fromLatin1(m));
    row->addWidget(new QLabel(tr("Metric"), this));
    row->addWidget(m_metric);
    row->addWidget(new QLabel(tr("Click a cell to open that teacher/student pair."), this));
    row->addStretch(1);
    layout->addLayout(row);
    auto* body = new QHBoxLayout();
    m_matrix = new widgets::AlignmentMatrix(this);
    body->addWidget(m_matrix, 1);
    m_layerMap = new LayerMapEditor(this);
    m_layerMap->setFixedWidth(280);
    body->addWidget(m_layerMap);
    layout->addLayout(body, 1);
    connect(m_layerMap, &LayerMapEditor::mapChanged, this, &AlignmentPage::layerMapChanged);
    connect(m_metric, &QComboBox::currentTextChanged, this, &AlignmentPage::metricChanged);
    connect(m_matrix, &widgets::AlignmentMatrix::cellClicked, this, [this](int r, int c) {
        if (r >= static_cast<int>(m_result.teacherHeads.size()) ||
            c >= static_cast<int>(m_result.studentHeads.size()))
            return;
        const auto t = m_result.teacherHeads[static_cast<size_t>(r)];
        const auto s = m_result.studentHeads[static_cast<size_t>(c)];
        emit pairChosen(t.first, t.second, s.first, s.second);
    });
}

void AlignmentPage::setModels(const ModelsLoaded& models) {
    m_layerMap->setModels(models.teacher.layers, models.student.blockTypes);
}

LayerMapSpec AlignmentPage::layerMap() const {
    return m_layerMap->spec();
}

void AlignmentPage::setResult(const AlignmentResult& result) {
    m_result = result;
    QStringList tl, sl;
    for (const auto& s : result.teacherLabels)
        tl << QString::fromStdString(s);
    for (const auto& s : result.studentLabels)
        sl << QString::fromStdString(s);
    m_matrix->setMatrix(
        result.scores, tl, sl, result.matches,
        QString::fromStdString(result.scores.quantity) +
            tr(" \u00b7 layer map: %1").arg(QString::fromStdString(result.layerMap)));
}

QString AlignmentPage::metric() const {
    return m_metric->currentText();
}
void AlignmentPage::setMetric(const QString& metric) {
    m_metric->setCurrentText(metric);
}

}  // namespace dxl::studio
