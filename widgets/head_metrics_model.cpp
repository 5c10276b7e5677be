// HeadMetricsModel and HeadMetricsView.
#include "widgets/head_metrics_model.h"

#include <QHeaderView>
#include <QLineEdit>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QVBoxLayout>
#include <cmath>

namespace dxl::widgets {

void HeadMetricsModel::setMetrics(std::vector<HeadMetrics> metrics) {
    beginResetModel();
    m_metrics = std::move(metrics);
    endResetModel();
}

int HeadMetricsModel::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(m_metrics.size());
}

int HeadMetricsModel::columnCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : kColumnCount;
}

QVariant HeadMetricsModel::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= kColumnCount) return {};
    const HeadMetrics& m = m_metrics[static_cast<size_t>(index.row())];
    auto number = [&](double v) -> QVariant {
        if (role == kSortRole) return std::isnan(v) ? QVariant(-1e300) : QVariant(v);
        if (role == Qt::DisplayRole)
            return std::isnan(v) ? QStringLiteral("\u2013") : QString::number(v, 'f', 3);
        return {};
    };
    if (role == Qt::TextAlignmentRole) {
        return index.column() == kModel ? QVariant(int(Qt::AlignLeft | Qt::AlignVCenter))
                                        : QVariant(int(Qt::AlignRight | Qt::AlignVCenter));
    }
    if (role != Qt::DisplayRole && role != kSortRole) return {};
    switch (index.column()) {
        case kModel:
            return QString::fromStdString(m.model);
        case kLayer:
            return m.layer;
        case kHead:
            return m.head;
        case kEntropy:
            return number(m.entropy);
        case kDistance:
            return number(m.meanDistance);
        case kSink:
            return number(m.sinkMass);
        case kPrevious:
            return number(m.previousToken);
        case kInduction:
            return number(m.induction);
        case kAlignment:
            return number(m.alignment);
        default:
            return {};
    }
}

QVariant HeadMetricsModel::headerData(int section, Qt::Orientation orientation, int role) const {
    if (orientation != Qt::Horizontal)
        return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[kColumnCount] = {"Model",      "Layer",     "Head",
                                              "Entropy",    "Distance",  "Sink",
                                              "Prev-token", "Induction", "Alignment"};
    static const char* tips[kColumnCount] = {
        "teacher or student",
        "layer (teacher) or block (student)",
        "head index",
        "mean row entropy of the attention (nats)",
        "mean attention-weighted |i - j| (tokens)",
        "mean attention mass on the first token",
        "mean attention mass on the previous token",
        "mean mass on the token after an earlier copy of the query token",
        "score of the head matched by the alignment (Hungarian)"};
    if (section < 0 || section >= kColumnCount) return {};
    if (role == Qt::DisplayRole) return tr(names[section]);
    if (role == Qt::ToolTipRole) return tr(tips[section]);
    return {};
}

QString HeadMetricsModel::toCsv() const {
    QString out = QStringLiteral(
        "model,layer,head,entropy,distance,sink,previous_token,induction,alignment\n");
    for (const auto& m : m_metrics) {
        out += QStringLiteral("%1,%2,%3,%4,%5,%6,%7,%8,%9\n")
                   .arg(QString::fromStdString(m.model))
                   .arg(m.layer)
                   .arg(m.head)
                   .arg(m.entropy, 0, 'g', 8)
                   .arg(m.meanDistance, 0, 'g', 8)
                   .arg(m.sinkMass, 0, 'g', 8)
                   .arg(m.previousToken, 0, 'g', 8)
                   .arg(m.induction, 0, 'g', 8)
                   .arg(std::isnan(m.alignment) ? QString() : QString::number(m.alignment, 'g', 8));
    }
    return out;
}

HeadMetricsView::HeadMetricsView(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_filter = new QLineEdit(this);
    m_filter->setPlaceholderText(tr("Filter by model (teacher / student)\u2026"));
    m_filter->setClearButtonEnabled(true);
    layout->addWidget(m_filter);
    m_model = new HeadMetricsModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(HeadMetricsModel::kSortRole);
    m_proxy->setFilterKeyColumn(HeadMetricsModel::kModel);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    m_table = new QTableView(this);
    m_table->setModel(m_proxy);
    m_table->setSortingEnabled(true);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->verticalHeader()->setVisible(false);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->sortByColumn(HeadMetricsModel::kLayer, Qt::AscendingOrder);
    layout->addWidget(m_table);
    connect(m_filter, &QLineEdit::textChanged, m_proxy,
            &QSortFilterProxyModel::setFilterFixedString);
    connect(m_table, &QTableView::activated, this, &HeadMetricsView::activate);
}

void HeadMetricsView::activate(const QModelIndex& proxyIndex) {
    const QModelIndex src = m_proxy->mapToSource(proxyIndex);
    if (!src.isValid()) return;
    const HeadMetrics& m = m_model->metrics()[static_cast<size_t>(src.row())];
    emit headActivated(QString::fromStdString(m.model), m.layer, m.head);
}

}  // namespace dxl::widgets
