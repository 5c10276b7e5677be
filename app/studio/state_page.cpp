// StatePage.
#include "app/studio/state_page.h"

#include <algorithm>

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QSpinBox>
#include <QSplitter>
#include <QVBoxLayout>

#include "widgets/attention_heatmap.h"
#include "widgets/line_plot.h"
#include "widgets/token_text.h"

namespace dxl::studio {

StatePage::StatePage(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* row = new QHBoxLayout();
    m_block = new QSpinBox(this);
    m_head = new QSpinBox(this);
    m_quantity = new QComboBox(this);
    m_quantity->addItems(
        {QStringLiteral("c"), QStringLiteral("n"), QStringLiteral("m"), QStringLiteral("h")});
    m_quantity->setToolTip(tr("sLSTM state shown for sLSTM blocks"));
    m_scrubber = new QSlider(Qt::Horizontal, this);
    m_scrubber->setObjectName(QStringLiteral("timeScrubber"));
    m_tokenLabel = new QLabel(this);
    row->addWidget(new QLabel(tr("Student block"), this));
    row->addWidget(m_block);
    row->addWidget(new QLabel(tr("head"), this));
    row->addWidget(m_head);
    row->addWidget(new QLabel(tr("sLSTM state"), this));
    row->addWidget(m_quantity);
    row->addWidget(new QLabel(tr("token t"), this));
    row->addWidget(m_scrubber, 1);
    row->addWidget(m_tokenLabel);
    layout->addLayout(row);
    auto* split = new QSplitter(Qt::Horizontal, this);
    m_map = new widgets::AttentionHeatmap(split);
    m_map->setName(QStringLiteral("state_c"));
    m_map->setAxisTitles(tr("v dimension"), tr("k dimension"));
    auto* right = new QSplitter(Qt::Vertical, split);
    m_norms = new widgets::LinePlot(right);
    m_norms->setName(QStringLiteral("state_norms"));
    m_norms->setTitle(tr("\u2016C_t\u2016_F and effective rank over t"));
    m_norms->setAxisLabels(tr("token t"), tr("\u2016C_t\u2016_F"));
    m_norms->setRightAxis(1, tr("effective rank"));
    m_gates = new widgets::LinePlot(right);
    m_gates->setName(QStringLiteral("state_gates"));
    m_gates->setTitle(tr("Gates and stabiliser over t"));
    m_gates->setAxisLabels(tr("token t"), QString());
    split->addWidget(m_map);
    split->addWidget(right);
    layout->addWidget(split, 1);
    for (QSpinBox* s : {m_block, m_head})
        connect(s, qOverload<int>(&QSpinBox::valueChanged), this, &StatePage::requestChanged);
    connect(m_quantity, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &StatePage::requestChanged);
    connect(m_scrubber, &QSlider::valueChanged, this, [this](int t) {
        m_tokenLabel->setText(
            QStringLiteral("%1 (%2)").arg(widgets::visibleTokenText(m_tokens.label(t))).arg(t));
        emit requestChanged();
    });
}

void StatePage::setModels(const ModelsLoaded& models) {
    m_block->setRange(0, std::max(0, models.student.layers - 1));
    // Open on an mLSTM block (C_t, norms and gates); students often start with an sLSTM block.
    const auto& types = models.student.blockTypes;
    const auto cur = static_cast<std::size_t>(m_block->value());
    if (cur >= types.size() || types[cur] != "mlstm") {
        const auto it = std::find(types.begin(), types.end(), "mlstm");
        if (it != types.end()) m_block->setValue(static_cast<int>(it - types.begin()));
    }
    m_head->setRange(0, std::max(0, models.student.heads - 1));
}

void StatePage::setTokens(const TokenList& tokens) {
    m_tokens = tokens;
    m_scrubber->setRange(0, std::max(0, tokens.size() - 1));
    const int t = m_scrubber->value();
    m_tokenLabel->setText(
        QStringLiteral("%1 (%2)").arg(widgets::visibleTokenText(m_tokens.label(t))).arg(t));
}

void StatePage::setT(int t) {
    m_scrubber->setValue(t);
}

void StatePage::setState(const StateResult& state) {
    if (state.blockType == "mlstm") {
        const TokenList dims;  // axes labelled by index
        m_map->setAxisTitles(tr("v dimension"), tr("k dimension"));
        m_map->setTitle(tr("C_t of block %1 head %2 at t = %3 (%4)")
                            .arg(state.block)
                            .arg(state.head)
                            .arg(state.t)
                            .arg(widgets::visibleTokenText(m_tokens.label(state.t))));
        m_map->setMatrix(state.c, dims, dims);
        m_norms->setSeries(state.norms);
        m_norms->setCursor(state.t);
        m_gates->setSeries(state.gates);
        m_gates->setCursor(state.t);
    } else {
        const TokenList units;  // axis labelled by index
        m_map->setAxisTitles(tr("unit"), tr("token t"));
        m_map->setTitle(tr("sLSTM block %1: %2 over tokens").arg(state.block).arg(quantity()));
        m_map->setMatrix(state.c, m_tokens, units);
        m_norms->setSeries({});
        m_gates->setSeries({});
    }
}

int StatePage::block() const {
    return m_block->value();
}
int StatePage::head() const {
    return m_head->value();
}
int StatePage::t() const {
    return m_scrubber->value();
}
QString StatePage::quantity() const {
    return m_quantity->currentText();
}

}  // namespace dxl::studio
