// HeadsDock: two HeadGrids and the metrics table.
#include "app/studio/heads_dock.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <cmath>

#include "widgets/head_grid.h"
#include "widgets/head_metrics_model.h"

namespace dxl::studio {

HeadsDock::HeadsDock(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Colour small cells by"), this));
    m_metric = new QComboBox(this);
    m_metric->setObjectName(QStringLiteral("headMetric"));
    // Data: the HeadMetricsModel column the metric lives in.
    m_metric->addItem(tr("entropy"), int(widgets::HeadMetricsModel::kEntropy));
    m_metric->addItem(tr("best-match alignment"), int(widgets::HeadMetricsModel::kAlignment));
    m_metric->addItem(tr("previous-token"), int(widgets::HeadMetricsModel::kPrevious));
    m_metric->addItem(tr("induction"), int(widgets::HeadMetricsModel::kInduction));
    m_metric->addItem(tr("sink"), int(widgets::HeadMetricsModel::kSink));
    m_metric->addItem(tr("mean distance"), int(widgets::HeadMetricsModel::kDistance));
    m_metric->setToolTip(
        tr("Grids whose cells are too small for thumbnails become a layer x head heatmap of this "
           "metric; the table below is sorted by it (top heads first)"));
    row->addWidget(m_metric, 1);
    layout->addLayout(row);
    connect(m_metric, &QComboBox::currentIndexChanged, this, [this] { applyMetric(); });
    auto* split = new QSplitter(Qt::Vertical, this);
    m_teacher = new widgets::HeadGrid(split);
    m_teacher->setObjectName(QStringLiteral("teacherGrid"));
    m_teacher->setName(QStringLiteral("head_grid_teacher"));
    m_student = new widgets::HeadGrid(split);
    m_student->setObjectName(QStringLiteral("studentGrid"));
    m_student->setName(QStringLiteral("head_grid_student"));
    m_metrics = new widgets::HeadMetricsView(split);
    split->addWidget(m_teacher);
    split->addWidget(m_student);
    split->addWidget(m_metrics);
    // The grids get the room (a 24-layer teacher needs height); the table scrolls.
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    split->setStretchFactor(2, 2);
    layout->addWidget(split);
    connect(m_teacher, &widgets::HeadGrid::currentChanged, this, &HeadsDock::teacherHeadChosen);
    connect(m_student, &widgets::HeadGrid::currentChanged, this, &HeadsDock::studentHeadChosen);
    connect(m_metrics, &widgets::HeadMetricsView::headActivated, this,
            [this](const QString& model, int l, int h) {
                if (model == QStringLiteral("teacher")) {
                    m_teacher->setCurrent(l, h);
                } else {
                    m_student->setCurrent(l, h);
                }
            });
}

void HeadsDock::setSummary(const ModelsLoaded& models, const InspectSummary& summary) {
    m_teacher->setThumbnails(summary.teacherThumbs, models.teacher.layers, models.teacher.heads,
                             tr("Teacher heads (arrows: move, Enter: open)"), QStringLiteral("L"));
    QStringList notes;
    for (const auto& t : models.student.blockTypes)
        notes << (t == "mlstm" ? QString() : tr("%1: no attention").arg(QString::fromStdString(t)));
    m_student->setThumbnails(
        summary.studentThumbs, models.student.layers, models.student.heads,
        tr("Student heads: %1").arg(QString::fromLatin1(normName(summary.norm))),
        QStringLiteral("B"), notes);
    m_metrics->model()->setMetrics(summary.metrics);
    m_values = summary.metrics;
    m_teacherLayers = models.teacher.layers;
    m_teacherHeads = models.teacher.heads;
    m_studentLayers = models.student.layers;
    m_studentHeads = models.student.heads;
    applyMetric();
}

void HeadsDock::setAlignmentValues(std::vector<double> teacher, std::vector<double> student,
                                   const QString& metric) {
    m_teacherAlignment = std::move(teacher);
    m_studentAlignment = std::move(student);
    m_alignmentMetric = metric;
    for (auto& m : m_values) {  // the table's alignment column
        const bool isTeacher = m.model == "teacher";
        const auto& v = isTeacher ? m_teacherAlignment : m_studentAlignment;
        const size_t idx =
            static_cast<size_t>(m.layer * (isTeacher ? m_teacherHeads : m_studentHeads) + m.head);
        m.alignment = idx < v.size() ? v[idx] : std::nan("");
    }
    m_metrics->model()->setMetrics(m_values);
    applyMetric();
}

void HeadsDock::applyMetric() {
    const int column = m_metric->currentData().toInt();
    auto value = [column](const HeadMetrics& m) {
        switch (column) {
            case widgets::HeadMetricsModel::kEntropy:
                return m.entropy;
            case widgets::HeadMetricsModel::kPrevious:
                return m.previousToken;
            case widgets::HeadMetricsModel::kInduction:
                return m.induction;
            case widgets::HeadMetricsModel::kSink:
                return m.sinkMass;
            case widgets::HeadMetricsModel::kDistance:
                return m.meanDistance;
            default:
                return m.alignment;
        }
    };
    std::vector<double> t(static_cast<size_t>(m_teacherLayers * m_teacherHeads), std::nan(""));
    std::vector<double> s(static_cast<size_t>(m_studentLayers * m_studentHeads), std::nan(""));
    for (const auto& m : m_values) {
        const bool teacher = m.model == "teacher";
        auto& out = teacher ? t : s;
        const int heads = teacher ? m_teacherHeads : m_studentHeads;
        const size_t idx = static_cast<size_t>(m.layer * heads + m.head);
        if (idx < out.size()) out[idx] = value(m);
    }
    QString name = m_metric->currentText();
    if (column == widgets::HeadMetricsModel::kAlignment) {
        // Dense per-head values from the alignment matrix (the table's column holds them too).
        t = m_teacherAlignment;
        s = m_studentAlignment;
        t.resize(static_cast<size_t>(m_teacherLayers * m_teacherHeads), std::nan(""));
        s.resize(static_cast<size_t>(m_studentLayers * m_studentHeads), std::nan(""));
        if (!m_alignmentMetric.isEmpty()) name += QStringLiteral(" (%1)").arg(m_alignmentMetric);
    }
    m_teacher->setCellValues(std::move(t), name);
    m_student->setCellValues(std::move(s), name);
    // Top heads first (entropy and distance: the focused, local heads first).
    const bool ascending = column == widgets::HeadMetricsModel::kEntropy ||
                           column == widgets::HeadMetricsModel::kDistance;
    m_metrics->table()->sortByColumn(column, ascending ? Qt::AscendingOrder : Qt::DescendingOrder);
}

}  // namespace dxl::studio
