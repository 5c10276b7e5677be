// LayerMapEditor.
#include "app/studio/layer_map_editor.h"

#include <QComboBox>
#include <QHeaderView>
#include <QLabel>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>
#include <algorithm>

#include "core/analysis/layer_map.h"

namespace dxl::studio {

namespace {
const char* presetSource(LayerMapEditor::Preset p) {
    switch (p) {
        case LayerMapEditor::Preset::AllPairs:
            return "all pairs";
        case LayerMapEditor::Preset::RatioAllBlocks:
            return "ratio/all-blocks";
        case LayerMapEditor::Preset::RatioMlstmOnly:
            return "ratio/mlstm-only";
        case LayerMapEditor::Preset::Custom:
            break;
    }
    return "custom";
}
}  // namespace

LayerMapEditor::LayerMapEditor(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* title = new QLabel(tr("<b>Layer map</b> (teacher layer \u2192 student block)"), this);
    layout->addWidget(title);
    m_preset = new QComboBox(this);
    m_preset->setObjectName(QStringLiteral("layerMapPreset"));
    m_preset->addItem(tr("All pairs"));
    m_preset->addItem(tr("Ratio over all blocks (paper)"));
    m_preset->addItem(tr("Ratio over mLSTM blocks"));
    m_preset->addItem(tr("Custom"));
    m_preset->setToolTip(
        tr("All pairs: every teacher layer against every mLSTM block.\nRatio over all blocks: "
           "block b takes teacher layers [b*s, (b+1)*s), s = layers / blocks; sLSTM blocks drop "
           "out (dxl align's default).\nRatio over mLSTM blocks: the same grouping over the "
           "mLSTM blocks only."));
    layout->addWidget(m_preset);
    m_table = new QTableWidget(this);
    m_table->setObjectName(QStringLiteral("layerMapTable"));
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->setToolTip(tr("Ticked cells are compared; heads are matched only within them"));
    m_table->setMinimumHeight(60);  // the page shrinks under a docked Distill dock
    layout->addWidget(m_table, 1);
    auto* hint =
        new QLabel(tr("Unticked cells stay grey in the matrix and are never matched."), this);
    hint->setWordWrap(true);
    layout->addWidget(hint);
    m_timer = new QTimer(this);
    m_timer->setSingleShot(true);
    m_timer->setInterval(150);
    connect(m_timer, &QTimer::timeout, this, &LayerMapEditor::mapChanged);
    connect(m_preset, &QComboBox::currentIndexChanged, this, [this](int i) {
        if (m_updating) return;
        const auto p = static_cast<Preset>(i);
        if (p != Preset::Custom) applyPairs(presetPairs(p));
        scheduleChange();
    });
    connect(m_table, &QTableWidget::itemChanged, this, [this](QTableWidgetItem*) {
        if (m_updating) return;
        {
            const QSignalBlocker block(m_preset);
            m_preset->setCurrentIndex(static_cast<int>(Preset::Custom));
        }
        scheduleChange();
    });
}

void LayerMapEditor::scheduleChange() {
    m_timer->start();
}

std::vector<std::pair<int, int>> LayerMapEditor::presetPairs(Preset p) const {
    std::vector<std::pair<int, int>> out;
    if (m_teacherLayers <= 0 || m_blockTypes.empty()) return out;
    if (p == Preset::AllPairs) {
        for (int l = 0; l < m_teacherLayers; ++l)
            for (int b = 0; b < static_cast<int>(m_blockTypes.size()); ++b)
                if (m_blockTypes[static_cast<size_t>(b)] == "mlstm") out.emplace_back(l, b);
        return out;
    }
    const analysis::LayerMap map =
        analysis::ratio_layer_map(m_teacherLayers, m_blockTypes,
                                  p == Preset::RatioMlstmOnly ? analysis::LayerGrouping::MlstmOnly
                                                              : analysis::LayerGrouping::AllBlocks);
    for (const analysis::LayerPair& lp : map.pairs)
        out.emplace_back(static_cast<int>(lp.teacher_layer), static_cast<int>(lp.student_block));
    return out;
}

void LayerMapEditor::setModels(int teacherLayers, const std::vector<std::string>& blockTypes) {
    const std::vector<std::pair<int, int>> kept = checkedPairs();
    m_teacherLayers = teacherLayers;
    m_blockTypes = blockTypes;
    m_updating = true;
    m_table->clear();
    m_table->setRowCount(teacherLayers);
    m_table->setColumnCount(static_cast<int>(blockTypes.size()));
    QStringList rows, cols;
    for (int l = 0; l < teacherLayers; ++l)
        rows << tr("L%1").arg(l);
    for (size_t b = 0; b < blockTypes.size(); ++b)
        cols << tr("B%1\n%2").arg(b).arg(blockTypes[b] == "mlstm" ? tr("mLSTM")
                                         : blockTypes[b] == "slstm"
                                             ? tr("sLSTM")
                                             : QString::fromStdString(blockTypes[b]));
    m_table->setVerticalHeaderLabels(rows);
    m_table->setHorizontalHeaderLabels(cols);
    for (int l = 0; l < teacherLayers; ++l) {
        for (int b = 0; b < static_cast<int>(blockTypes.size()); ++b) {
            auto* item = new QTableWidgetItem();
            const bool mlstm = blockTypes[static_cast<size_t>(b)] == "mlstm";
            item->setFlags(mlstm ? Qt::ItemIsUserCheckable | Qt::ItemIsEnabled : Qt::NoItemFlags);
            item->setCheckState(Qt::Unchecked);
            if (!mlstm) item->setToolTip(tr("sLSTM blocks have no implicit attention"));
            m_table->setItem(l, b, item);
        }
    }
    m_updating = false;
    applyPairs(preset() == Preset::Custom ? kept : presetPairs(preset()));
}

void LayerMapEditor::applyPairs(const std::vector<std::pair<int, int>>& pairs) {
    m_updating = true;
    for (int l = 0; l < m_table->rowCount(); ++l) {
        for (int b = 0; b < m_table->columnCount(); ++b) {
            QTableWidgetItem* item = m_table->item(l, b);
            if (!item || !(item->flags() & Qt::ItemIsEnabled)) continue;
            const bool on =
                std::find(pairs.begin(), pairs.end(), std::make_pair(l, b)) != pairs.end();
            item->setCheckState(on ? Qt::Checked : Qt::Unchecked);
        }
    }
    m_updating = false;
}

void LayerMapEditor::setPreset(Preset preset) {
    m_preset->setCurrentIndex(static_cast<int>(preset));  // applies it and schedules mapChanged
}

LayerMapEditor::Preset LayerMapEditor::preset() const {
    return static_cast<Preset>(m_preset->currentIndex());
}

void LayerMapEditor::setPairs(const std::vector<std::pair<int, int>>& pairs) {
    {
        const QSignalBlocker block(m_preset);
        m_preset->setCurrentIndex(static_cast<int>(Preset::Custom));
    }
    applyPairs(pairs);
    scheduleChange();
}

void LayerMapEditor::setPairChecked(int teacherLayer, int studentBlock, bool checked) {
    QTableWidgetItem* item = m_table->item(teacherLayer, studentBlock);
    if (item && (item->flags() & Qt::ItemIsEnabled))
        item->setCheckState(checked ? Qt::Checked : Qt::Unchecked);  // -> itemChanged -> Custom
}

std::vector<std::pair<int, int>> LayerMapEditor::checkedPairs() const {
    std::vector<std::pair<int, int>> out;
    for (int l = 0; l < m_table->rowCount(); ++l)
        for (int b = 0; b < m_table->columnCount(); ++b)
            if (QTableWidgetItem* item = m_table->item(l, b);
                item && item->checkState() == Qt::Checked)
                out.emplace_back(l, b);
    return out;
}

LayerMapSpec LayerMapEditor::spec() const {
    LayerMapSpec s;
    const Preset p = preset();
    s.allPairs = p == Preset::AllPairs;
    s.source = presetSource(p);
    s.pairs = checkedPairs();
    return s;
}

}  // namespace dxl::studio
