// Per-head metrics as a sortable, filterable table: HeadMetricsModel (QAbstractTableModel over
// HeadMetrics values; Qt::UserRole gives raw numbers for sorting) and HeadMetricsView (filter box
// + QTableView over a QSortFilterProxyModel). Double-click / Enter opens the head.
#pragma once

#include <QAbstractTableModel>
#include <QWidget>
#include <vector>

#include "core/base/value_types.h"

class QLineEdit;
class QSortFilterProxyModel;
class QTableView;

namespace dxl::widgets {

class HeadMetricsModel : public QAbstractTableModel {
    Q_OBJECT
  public:
    enum Column {
        kModel,
        kLayer,
        kHead,
        kEntropy,
        kDistance,
        kSink,
        kPrevious,
        kInduction,
        kAlignment,
        kColumnCount
    };
    static constexpr int kSortRole = Qt::UserRole;

    explicit HeadMetricsModel(QObject* parent = nullptr) : QAbstractTableModel(parent) {}
    void setMetrics(std::vector<HeadMetrics> metrics);
    const std::vector<HeadMetrics>& metrics() const { return m_metrics; }

    int rowCount(const QModelIndex& parent = QModelIndex()) const override;
    int columnCount(const QModelIndex& parent = QModelIndex()) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    QString toCsv() const;

  private:
    std::vector<HeadMetrics> m_metrics;
};

class HeadMetricsView : public QWidget {
    Q_OBJECT
  public:
    explicit HeadMetricsView(QWidget* parent = nullptr);
    HeadMetricsModel* model() const { return m_model; }
    QSortFilterProxyModel* proxy() const { return m_proxy; }
    QTableView* table() const { return m_table; }

  signals:
    void headActivated(const QString& model, int layer, int head);

  private:
    void activate(const QModelIndex& proxyIndex);

    HeadMetricsModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QTableView* m_table = nullptr;
    QLineEdit* m_filter = nullptr;
};

}  // namespace dxl::widgets
