// HeadsDock: two HeadGrids and the metrics table.
#include "app/studio/heads_dock.h"

#include <QSplitter>
#include <QVBoxLayout>

#include "widgets/head_grid.h"
#include "widgets/head_metrics_model.h"

namespace dxl::studio {

HeadsDock::HeadsDock(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
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
}

}  // namespace dxl::studio
