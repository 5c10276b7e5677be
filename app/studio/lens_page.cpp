// LensPage.
#include "app/studio/lens_page.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "widgets/attention_heatmap.h"
#include "widgets/token_strip.h"

namespace dxl::studio {

namespace {

// Row labels as a TokenList (the heatmap's row axis).
TokenList rowList(const std::vector<std::string>& labels) {
    TokenList t;
    for (size_t i = 0; i < labels.size(); ++i) {
        t.ids.push_back(static_cast<int64_t>(i));
        t.labels.push_back(labels[i]);
    }
    return t;
}

}  // namespace

LensPage::LensPage(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    auto* row = new QHBoxLayout();
    m_quantity = new QComboBox(this);
    m_quantity->setObjectName(QStringLiteral("lensQuantity"));
    m_quantity->addItems({tr("Entropy of the read-out"), tr("Rank of the final top-1 token"),
                          tr("KL to the model's own output")});
    m_info = new QLabel(this);
    row->addWidget(new QLabel(tr("Layer x position:"), this));
    row->addWidget(m_quantity);
    row->addWidget(m_info, 1);
    layout->addLayout(row);

    auto* chipRow = new QHBoxLayout();
    // One chip per token: the row scrolls sideways instead of widening the window.
    auto* chipsScroll = new QScrollArea(this);
    m_chips = new widgets::TokenChips(chipsScroll);
    chipsScroll->setWidget(m_chips);
    chipsScroll->setWidgetResizable(false);
    chipsScroll->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    chipsScroll->setFixedHeight(m_chips->sizeHint().height() + 18);
    m_chipLegend = new QLabel(this);
    chipRow->addWidget(chipsScroll, 1);
    chipRow->addWidget(m_chipLegend);
    layout->addLayout(chipRow);

    auto* vsplit = new QSplitter(Qt::Vertical, this);
    auto* hsplit = new QSplitter(Qt::Horizontal, vsplit);
    m_teacher = new widgets::AttentionHeatmap(hsplit);
    m_teacher->setName(QStringLiteral("lens_teacher"));
    m_teacher->setAxisTitles(tr("token position"), tr("teacher layer"));
    m_student = new widgets::AttentionHeatmap(hsplit);
    m_student->setName(QStringLiteral("lens_student"));
    m_student->setAxisTitles(tr("token position"), tr("student block"));
    hsplit->addWidget(m_teacher);
    hsplit->addWidget(m_student);
    m_pairs = new widgets::AttentionHeatmap(vsplit);
    m_pairs->setName(QStringLiteral("lens_pair_kl"));
    m_pairs->setAxisTitles(tr("token position"), tr("teacher layer | student block"));
    vsplit->addWidget(hsplit);
    vsplit->addWidget(m_pairs);
    vsplit->setStretchFactor(0, 3);
    vsplit->setStretchFactor(1, 2);
    vsplit->setSizes({300, 200});  // the per-model maps get the larger share from the start
    layout->addWidget(vsplit, 1);
    for (widgets::AttentionHeatmap* h : {m_teacher, m_student, m_pairs})
        h->setMinimapEnabled(false);

    connect(m_quantity, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this](int) { redraw(); });
    connect(m_teacher, &widgets::AttentionHeatmap::cellClicked, this, [this](int r, int c) {
        selectRow(false, r);
        m_chips->setSelected(c);
    });
    connect(m_student, &widgets::AttentionHeatmap::cellClicked, this, [this](int r, int c) {
        selectRow(true, r);
        m_chips->setSelected(c);
    });
    connect(m_pairs, &widgets::AttentionHeatmap::cellClicked, this,
            [this](int, int c) { m_chips->setSelected(c); });
    connect(m_chips, &widgets::TokenChips::tokenClicked, this, [this](int t) {
        m_chips->setSelected(t);
        centreOn(t);
    });
}

void LensPage::clear() {
    m_has = false;
    m_lens = LensResult{};
    for (widgets::AttentionHeatmap* h : {m_teacher, m_student, m_pairs})
        h->clear();
    m_chips->setTokens({});
    m_info->clear();
}

void LensPage::setLens(const LensResult& lens) {
    m_lens = lens;
    m_has = true;
    m_chips->setTokens(lens.tokens);
    m_chips->resize(m_chips->sizeHint());  // inside its scroll area
    redraw();
}

void LensPage::setQuantity(Quantity q) {
    m_quantity->setCurrentIndex(static_cast<int>(q));
}

LensPage::Quantity LensPage::quantity() const {
    return static_cast<Quantity>(m_quantity->currentIndex());
}

const HeatmapData& LensPage::pick(const LensMaps& m) const {
    switch (quantity()) {
        case Quantity::Rank:
            return m.rank;
        case Quantity::KlToFinal:
            return m.klToFinal;
        case Quantity::Entropy:
            break;
    }
    return m.entropy;
}

void LensPage::redraw() {
    if (!m_has) return;
    const QString what = m_quantity->currentText();
    const TokenList& tokens = m_lens.tokens;
    auto tooltip = [tokens](widgets::AttentionHeatmap* map, const TokenList& rows) {
        map->setTooltipProvider([map, tokens, rows](int r, int c) {
            const HeatmapData& d = map->matrix();
            if (r < 0 || c < 0 || r >= d.rows || c >= d.cols) return QString();
            return QStringLiteral("%1, token %2 '%3'\n%4: %5")
                .arg(QString::fromStdString(rows.label(r)))
                .arg(c)
                .arg(QString::fromStdString(tokens.label(c)))
                .arg(QString::fromStdString(d.quantity))
                .arg(static_cast<double>(d.at(r, c)), 0, 'g', 4);
        });
    };
    // One colour range for both models, so equal colours mean equal values.
    const HeatmapData& t = pick(m_lens.teacher);
    const HeatmapData& s = pick(m_lens.student);
    const auto [tlo, thi] = t.finiteRange();
    const auto [slo, shi] = s.finiteRange();
    const TokenList trows = rowList(m_lens.teacher.rowLabels);
    const TokenList srows = rowList(m_lens.student.rowLabels);
    m_teacher->setMatrix(t, trows, tokens);
    m_teacher->setTitle(tr("Teacher: %1").arg(what));
    m_student->setMatrix(s, srows, tokens);
    m_student->setTitle(tr("Student: %1").arg(what));
    for (widgets::AttentionHeatmap* h : {m_teacher, m_student})
        h->setColorRange(std::min(tlo, slo),
                         std::max(std::max(thi, shi), std::min(tlo, slo) + 1e-6f));
    tooltip(m_teacher, trows);
    tooltip(m_student, srows);

    std::vector<std::string> pairRows;
    for (size_t i = 0; i < m_lens.pairLabels.size(); ++i) {
        char mean[32];
        std::snprintf(mean, sizeof mean, " (%.3g)", m_lens.pairMeanKl[i]);
        pairRows.push_back(m_lens.pairLabels[i] + mean);
    }
    const TokenList prows = rowList(pairRows);
    m_pairs->setMatrix(m_lens.pairKl, prows, tokens);
    m_pairs->setTitle(tr("KL(teacher layer || student block) per position, mean in brackets"));
    tooltip(m_pairs, prows);
    m_info->setText(tr("%1 teacher layers, %2 student blocks, %3 tokens; pairs: %4")
                        .arg(t.rows)
                        .arg(s.rows)
                        .arg(tokens.size())
                        .arg(QString::fromStdString(m_lens.layerMap)));
    selectRow(false, t.rows - 1);
}

void LensPage::selectRow(bool student, int row) {
    if (!m_has) return;
    const HeatmapData& d = pick(student ? m_lens.student : m_lens.teacher);
    const auto& labels = student ? m_lens.student.rowLabels : m_lens.teacher.rowLabels;
    if (row < 0 || row >= d.rows) return;
    std::vector<double> values(static_cast<size_t>(d.cols));
    for (int c = 0; c < d.cols; ++c)
        values[static_cast<size_t>(c)] = d.at(row, c);
    const QString q = QStringLiteral("%1 %2: %3")
                          .arg(student ? tr("student") : tr("teacher"))
                          .arg(QString::fromStdString(labels[static_cast<size_t>(row)]))
                          .arg(QString::fromStdString(d.quantity));
    m_chips->setHighlight(values, q);
    m_chipLegend->setText(q + QStringLiteral("  ") + m_chips->legendHtml());
}

void LensPage::centreOn(int t) {
    for (widgets::AttentionHeatmap* h : {m_teacher, m_student, m_pairs}) {
        const HeatmapData& d = h->matrix();
        if (d.empty()) continue;
        h->centreViewOn(t, h->viewRangeY().center());
    }
}

}  // namespace dxl::studio
