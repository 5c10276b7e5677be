// AttentionPage: controls and views of the Inspect page.
#include "app/studio/attention_page.h"

#include <cmath>

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <QWidgetAction>

#include "widgets/attention_lines.h"
#include "widgets/linked_heatmaps.h"
#include "widgets/token_strip.h"
#include "widgets/token_text.h"

namespace dxl::studio {

namespace {
const std::pair<TokenHighlight, const char*> kHighlights[] = {
    {TokenHighlight::None, "none"},
    {TokenHighlight::TeacherReceived, "teacher_received"},
    {TokenHighlight::StudentReceived, "student_received"},
    {TokenHighlight::DifferenceReceived, "difference_received"},
    {TokenHighlight::Kl, "kl"}};
}  // namespace

const char* highlightKey(TokenHighlight h) {
    for (const auto& [v, key] : kHighlights)
        if (v == h) return key;
    return "none";
}
TokenHighlight highlightFromKey(const std::string& key) {
    for (const auto& [v, k] : kHighlights)
        if (key == k) return v;
    return TokenHighlight::None;
}

AttentionPage::AttentionPage(QWidget* parent) : QWidget(parent) {
    // The page scrolls rather than squeezing its maps when a dock takes the window's height.
    auto* pageLayout = new QVBoxLayout(this);
    pageLayout->setContentsMargins(0, 0, 0, 0);
    auto* scroll = new QScrollArea(this);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    auto* content = new QWidget(scroll);
    pageLayout->addWidget(scroll);
    auto* outer = new QVBoxLayout(content);
    auto* inputRow = new QHBoxLayout();
    m_input = new QLineEdit(this);
    m_input->setObjectName(QStringLiteral("inputLine"));
    m_input->setPlaceholderText(
        tr("Token ids (37,0,93,...) or text when the model has a tokenizer"));
    auto* run = new QPushButton(tr("&Run"), this);
    inputRow->addWidget(new QLabel(tr("Input:"), this));
    inputRow->addWidget(m_input, 1);
    inputRow->addWidget(run);
    m_highlight = new QComboBox(this);
    m_highlight->setObjectName(QStringLiteral("highlightCombo"));
    m_highlight->setToolTip(
        tr("Colour the token chips by a per-token quantity; hover a chip for "
           "its value. Attention received by token j: mean over the rows "
           "i ≥ j of the shown map's column j."));
    m_highlight->addItem(tr("none"), static_cast<int>(TokenHighlight::None));
    m_highlight->addItem(tr("teacher attention received"),
                         static_cast<int>(TokenHighlight::TeacherReceived));
    m_highlight->addItem(tr("student attention received"),
                         static_cast<int>(TokenHighlight::StudentReceived));
    m_highlight->addItem(tr("|difference| received"),
                         static_cast<int>(TokenHighlight::DifferenceReceived));
    m_highlight->addItem(tr("KL(teacher ‖ student)"), static_cast<int>(TokenHighlight::Kl));
    m_legend = new QLabel(this);
    m_legend->setObjectName(QStringLiteral("highlightLegend"));
    inputRow->addSpacing(8);
    inputRow->addWidget(new QLabel(tr("Highlight:"), this));
    inputRow->addWidget(m_highlight);
    inputRow->addWidget(m_legend);
    outer->addLayout(inputRow);
    auto* chipsScroll = new QScrollArea(this);
    m_chips = new widgets::TokenChips(chipsScroll);
    chipsScroll->setWidget(m_chips);
    chipsScroll->setWidgetResizable(false);
    chipsScroll->setFixedHeight(m_chips->sizeHint().height() + 18);
    outer->addWidget(chipsScroll);

    auto* controls = new QHBoxLayout();
    auto spin = [this](const QString& tip) {
        auto* s = new QSpinBox(this);
        s->setToolTip(tip);
        return s;
    };
    m_tl = spin(tr("teacher layer (Ctrl+Up/Down)"));
    m_th = spin(tr("teacher head (Ctrl+Left/Right)"));
    m_sb = spin(tr("student block (Alt+Up/Down)"));
    m_sh = spin(tr("student head (Alt+Left/Right)"));
    m_norm = new QComboBox(this);
    m_norm->setObjectName(QStringLiteral("normCombo"));
    for (StudentNorm n : {StudentNorm::Raw, StudentNorm::AbsRow, StudentNorm::ReluRow,
                          StudentNorm::MinMax, StudentNorm::GateOnly}) {
        m_norm->addItem(QString::fromLatin1(normName(n)), static_cast<int>(n));
    }
    m_norm->setCurrentIndex(1);
    // Sized for the default's name, not the longest one: keeps the selector row within a
    // 1500 px window now that it also holds the map mode and the filter button.
    m_norm->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_norm->setMinimumContentsLength(14);
    m_scale = new QComboBox(this);
    m_scale->addItems({tr("linear"), tr("log"), tr("gamma 0.5")});
    m_shared = new QCheckBox(tr("shared range"), this);
    m_shared->setToolTip(tr("One colour range for the teacher and student panes"));
    m_shared->setChecked(true);
    m_mode = new QComboBox(this);
    m_mode->setObjectName(QStringLiteral("mapModeCombo"));
    m_mode->setToolTip(
        tr("single head: the selected heads; rollout: attention rollout up to the "
           "selected teacher layer / student block, heads fused by mean, sLSTM "
           "blocks as identity"));
    m_mode->addItem(tr("maps: single head"), static_cast<int>(MapMode::SingleHead));
    m_mode->addItem(tr("maps: rollout"), static_cast<int>(MapMode::Rollout));
    controls->addWidget(new QLabel(tr("Teacher L"), this));
    controls->addWidget(m_tl);
    controls->addWidget(new QLabel(tr("H"), this));
    controls->addWidget(m_th);
    controls->addSpacing(8);
    controls->addWidget(new QLabel(tr("Student B"), this));
    controls->addWidget(m_sb);
    controls->addWidget(new QLabel(tr("H"), this));
    controls->addWidget(m_sh);
    controls->addSpacing(8);
    controls->addWidget(new QLabel(tr("Normalisation"), this));  // of the student map
    controls->addWidget(m_norm);
    controls->addWidget(new QLabel(tr("Scale"), this));
    controls->addWidget(m_scale);
    controls->addWidget(m_shared);
    controls->addSpacing(6);
    controls->addWidget(m_mode);
    controls->addWidget(buildFilterControls());
    controls->addStretch(1);
    outer->addLayout(controls);

    // Top: the KL strip beside the predictions; below: the maps over the full width.
    auto* split = new QSplitter(Qt::Horizontal, content);
    m_kl = new widgets::TokenStrip(split);
    m_kl->setTitle(tr("Per-token KL(teacher \u2016 student)"));
    m_kl->setMinimumHeight(150);
    m_kl->setMaximumHeight(170);
    // The maps as heatmaps, or as token-to-token lines (top-k keys per query; readable up to
    // ~128 tokens, a window that follows the clicked query beyond).
    m_views = new QTabWidget(content);
    m_views->setObjectName(QStringLiteral("mapViews"));
    m_views->setDocumentMode(true);
    m_linked = new widgets::LinkedHeatmaps(m_views);
    m_lines = new widgets::AttentionLines(m_views);
    m_lines->setName(QStringLiteral("attention_lines"));
    m_views->addTab(m_linked, tr("Heatmaps"));
    m_views->addTab(m_lines, tr("Lines (top-k keys per query)"));
    // Tab bar + normalisation line + a map pane whose square map keeps kMinMapSide pixels.
    m_views->setMinimumHeight(340);
    auto* topK = new QSpinBox(this);
    topK->setRange(1, 16);
    topK->setValue(m_lines->topK());
    topK->setPrefix(tr("top "));
    topK->setToolTip(tr("Lines view: keys drawn per query row"));
    m_views->setCornerWidget(topK, Qt::TopRightCorner);
    topK->setVisible(false);  // a lines-view control: shown with that tab only
    connect(m_views, &QTabWidget::currentChanged, topK,
            [this, topK] { topK->setVisible(m_views->currentWidget() == m_lines); });
    connect(topK, qOverload<int>(&QSpinBox::valueChanged), m_lines,
            &widgets::AttentionLines::setTopK);
    connect(m_lines, &widgets::AttentionLines::querySelected, this, [this](int q) {
        if (q >= 0) selectToken(q);  // predictions and scrubber follow the clicked query
    });
    m_predictions = new QTableWidget(5, 4, split);
    m_predictions->setHorizontalHeaderLabels({tr("teacher"), tr("p"), tr("student"), tr("p")});
    // Token columns share the spare width; probability columns fit their numbers.
    m_predictions->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    for (int c : {1, 3})
        m_predictions->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_predictions->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_predictions->setMinimumWidth(360);
    m_predictions->setMaximumHeight(170);
    split->addWidget(m_kl);
    split->addWidget(m_predictions);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    outer->addWidget(split);
    outer->addWidget(m_views, 1);
    scroll->setWidget(content);
    // Only the height scrolls: the page keeps the width its controls need, so a dock beside it
    // cannot take that width.
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(content->minimumSizeHint().width() +
                            scroll->verticalScrollBar()->sizeHint().width());

    // sLSTM blocks have no implicit attention map: stepping onto one moves on to the next mLSTM
    // block in the same direction (or stays), so no map request can fail on it. A rollout treats
    // sLSTM blocks as identity and may end on any block.
    connect(m_sb, qOverload<int>(&QSpinBox::valueChanged), this, [this](int b) {
        const auto& types = m_models.student.blockTypes;
        const bool roll = static_cast<MapMode>(m_mode->currentData().toInt()) == MapMode::Rollout;
        if (!roll && !m_updating && b < static_cast<int>(types.size()) &&
            types[static_cast<size_t>(b)] != "mlstm") {
            const int step = b >= m_prevBlock ? 1 : -1;
            int next = b;
            while (next >= 0 && next < static_cast<int>(types.size()) &&
                   types[static_cast<size_t>(next)] != "mlstm")
                next += step;
            const bool found = next >= 0 && next < static_cast<int>(types.size());
            m_sb->setValue(found ? next : m_prevBlock);
            return;
        }
        m_prevBlock = b;
    });
    auto changed = [this] {
        const auto& types = m_models.student.blockTypes;
        const int b = m_sb->value();
        const bool roll = static_cast<MapMode>(m_mode->currentData().toInt()) == MapMode::Rollout;
        const bool slstm =
            !roll && b < static_cast<int>(types.size()) && types[static_cast<size_t>(b)] != "mlstm";
        if (!m_updating && !slstm) emit selectionChanged();
    };
    for (QSpinBox* s : {m_tl, m_th, m_sb, m_sh})
        connect(s, qOverload<int>(&QSpinBox::valueChanged), this, changed);
    connect(m_norm, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!m_updating) emit normChanged();
    });
    connect(m_mode, qOverload<int>(&QComboBox::currentIndexChanged), this, [this, changed] {
        // A rollout fuses the heads by mean: the head selectors do not apply.
        const bool roll = static_cast<MapMode>(m_mode->currentData().toInt()) == MapMode::Rollout;
        m_th->setEnabled(!roll);
        m_sh->setEnabled(!roll);
        changed();
    });
    connect(m_highlight, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &AttentionPage::updateHighlight);
    connect(m_scale, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &AttentionPage::applyScale);
    connect(m_shared, &QCheckBox::toggled, m_linked, &widgets::LinkedHeatmaps::setSharedColorRange);
    connect(run, &QPushButton::clicked, this, [this] { emit runRequested(m_input->text()); });
    connect(m_input, &QLineEdit::returnPressed, this,
            [this] { emit runRequested(m_input->text()); });
    connect(m_chips, &widgets::TokenChips::tokenClicked, this, &AttentionPage::selectToken);
    connect(m_kl, &widgets::TokenStrip::tokenClicked, this, &AttentionPage::selectToken);
}

void AttentionPage::setModels(const ModelsLoaded& models) {
    m_models = models;
    m_updating = true;
    m_tl->setRange(0, std::max(0, models.teacher.layers - 1));
    m_th->setRange(0, std::max(0, models.teacher.heads - 1));
    m_sb->setRange(0, std::max(0, models.student.layers - 1));
    m_sh->setRange(0, std::max(0, models.student.heads - 1));
    // Start on the first mLSTM block (sLSTM blocks have no implicit attention).
    for (int b = 0; b < static_cast<int>(models.student.blockTypes.size()); ++b) {
        if (models.student.blockTypes[static_cast<size_t>(b)] == "mlstm") {
            m_sb->setValue(b);
            m_prevBlock = b;
            break;
        }
    }
    m_updating = false;
}

void AttentionPage::setSummary(const InspectSummary& summary) {
    m_summary = summary;
    m_chips->setTokens(summary.tokens);
    m_chips->resize(m_chips->sizeHint());
    m_kl->setValues(summary.klPerToken, summary.tokens, tr("KL (nats)"));
    m_maps = MapsResult{};  // received values of the old input no longer apply
    updateHighlight();
    selectToken(summary.tokens.size() - 1);
}

void AttentionPage::setMaps(const MapsResult& maps) {
    // Two-line titles (the student pane adds the normalisation as its second line) keep the
    // three panes aligned and fit a narrow pane.
    // A display filter is appended to every pane's last line and to the normalisation label.
    const bool roll = maps.mode == MapMode::Rollout;
    const QString t =
        roll
            ? tr("Teacher rollout to layer %1\nheads fused by mean").arg(maps.teacherLayer)
            : tr("Teacher L%1 H%2\nsoftmax attention").arg(maps.teacherLayer).arg(maps.teacherHead);
    const QString s =
        roll
            ? tr("Student rollout to block %1").arg(maps.studentBlock)
            : tr("Student B%1 H%2 implicit attention").arg(maps.studentBlock).arg(maps.studentHead);
    m_linked->setName(
        roll ? QStringLiteral("rollout_t%1_s%2").arg(maps.teacherLayer).arg(maps.studentBlock)
             : QStringLiteral("attention_t%1.%2_s%3.%4")
                   .arg(maps.teacherLayer)
                   .arg(maps.teacherHead)
                   .arg(maps.studentBlock)
                   .arg(maps.studentHead));
    m_linked->setMaps(maps.teacher, maps.student, m_summary.tokens, t, s,
                      QString::fromLatin1(normName(maps.norm)),
                      QString::fromStdString(maps.filterText));
    m_lines->setName(m_linked->figureName() + QStringLiteral("_lines"));
    m_lines->setMaps(maps.teacher, maps.student, m_summary.tokens, t,
                     s + QStringLiteral("\n") + QString::fromLatin1(normName(maps.norm)));
    m_maps = maps;
    updateHighlight();
    applyScale();
}

QWidget* AttentionPage::buildFilterControls() {
    // A tool button whose popup holds the three filters; its text says which are on, so the
    // selector row stays one line.
    m_filter = new QToolButton(this);
    m_filter->setObjectName(QStringLiteral("filterButton"));
    m_filter->setPopupMode(QToolButton::InstantPopup);
    m_filter->setStyleSheet(
        QStringLiteral("QToolButton::menu-indicator { image: none; width: 0px; }"));
    m_filterHelp =
        tr("Display filters on both maps (after the student normalisation); the "
           "difference pane follows. Raw signed A: ranked and thresholded by |A|, "
           "never renormalised.");
    m_filter->setToolTip(m_filterHelp);
    auto* menu = new QMenu(m_filter);
    auto* box = new QWidget(menu);
    auto* form = new QFormLayout(box);
    m_threshold = new QDoubleSpinBox(box);
    m_threshold->setObjectName(QStringLiteral("filterThreshold"));
    m_threshold->setRange(0.0, 1e6);
    m_threshold->setDecimals(4);
    m_threshold->setSingleStep(0.01);
    m_threshold->setSpecialValueText(tr("off"));
    m_threshold->setToolTip(tr("cells below this value are shown as 0"));
    m_topK = new QSpinBox(box);
    m_topK->setObjectName(QStringLiteral("filterTopK"));
    m_topK->setRange(0, 1 << 20);
    m_topK->setSpecialValueText(tr("off"));
    m_topK->setToolTip(tr("keep the k largest causal entries of each row"));
    m_dropSink = new QCheckBox(tr("drop sink column (token 0), renormalise rows"), box);
    m_dropSink->setObjectName(QStringLiteral("filterDropSink"));
    form->addRow(tr("threshold"), m_threshold);
    form->addRow(tr("top-k per row"), m_topK);
    form->addRow(m_dropSink);
    auto* action = new QWidgetAction(menu);
    action->setDefaultWidget(box);
    menu->addAction(action);
    m_filter->setMenu(menu);
    connect(m_threshold, qOverload<double>(&QDoubleSpinBox::valueChanged), this,
            &AttentionPage::filterEdited);
    connect(m_topK, qOverload<int>(&QSpinBox::valueChanged), this, &AttentionPage::filterEdited);
    connect(m_dropSink, &QCheckBox::toggled, this, &AttentionPage::filterEdited);
    m_filter->setText(filterButtonText());
    return m_filter;
}

QString AttentionPage::filterButtonText() const {
    MapFilter f;
    f.threshold = m_threshold->value();
    f.topK = m_topK->value();
    f.dropSink = m_dropSink->isChecked();
    // The arrow is part of the text: the style's menu indicator overlaps short button text.
    return f.active() ? tr("Filter: on \u25be") : tr("Filter: off \u25be");
}

void AttentionPage::filterEdited() {
    // Short text keeps the selector row narrow; the tooltip, the label above the maps and the
    // pane titles say which filters are on.
    m_filter->setText(filterButtonText());
    MapFilter f;
    f.threshold = m_threshold->value();
    f.topK = m_topK->value();
    f.dropSink = m_dropSink->isChecked();
    m_filter->setToolTip(
        (f.active() ? tr("Display filter: %1\n").arg(QString::fromStdString(filterText(f, false)))
                    : QString()) +
        m_filterHelp);
    if (!m_updating) emit selectionChanged();
}

void AttentionPage::updateHighlight() {
    const auto h = static_cast<TokenHighlight>(m_highlight->currentData().toInt());
    const int T = m_summary.tokens.size();
    std::vector<double> v;
    QString quantity;
    switch (h) {
        case TokenHighlight::None:
            break;
        case TokenHighlight::TeacherReceived:
            v = m_maps.teacherReceived;
            quantity = tr("teacher attention received");
            break;
        case TokenHighlight::StudentReceived:
            v = m_maps.studentReceived;
            quantity = tr("student attention received");
            break;
        case TokenHighlight::DifferenceReceived:
            v = m_maps.differenceReceived;
            quantity = tr("|student − teacher| received");
            break;
        case TokenHighlight::Kl:
            v = m_summary.klPerToken;
            quantity = tr("KL(teacher ‖ student), nats");
            break;
    }
    if (static_cast<int>(v.size()) != T) v.clear();  // maps of this input not back yet
    m_chips->setHighlight(v, quantity);
    m_legend->setText(m_chips->legendHtml());
    m_legend->setToolTip(quantity);
}

void AttentionPage::applyScale() {
    widgets::ScaleTransform st;
    st.scale = static_cast<widgets::ColorScale>(m_scale->currentIndex());
    m_linked->setScaleTransform(st);
}

Selection AttentionPage::selection() const {
    Selection s;
    s.teacherLayer = m_tl->value();
    s.teacherHead = m_th->value();
    s.studentBlock = m_sb->value();
    s.studentHead = m_sh->value();
    s.norm = static_cast<StudentNorm>(m_norm->currentData().toInt());
    s.scale = m_scale->currentIndex();
    s.sharedRange = m_shared->isChecked();
    s.token = m_token;
    s.filter.threshold = m_threshold->value();
    s.filter.topK = m_topK->value();
    s.filter.dropSink = m_dropSink->isChecked();
    s.mode = static_cast<MapMode>(m_mode->currentData().toInt());
    s.highlight = static_cast<TokenHighlight>(m_highlight->currentData().toInt());
    return s;
}

void AttentionPage::setSelection(const Selection& s) {
    m_updating = true;
    m_tl->setValue(s.teacherLayer);
    m_th->setValue(s.teacherHead);
    m_sb->setValue(s.studentBlock);
    m_sh->setValue(s.studentHead);
    m_norm->setCurrentIndex(m_norm->findData(static_cast<int>(s.norm)));
    m_scale->setCurrentIndex(s.scale);
    m_shared->setChecked(s.sharedRange);
    m_threshold->setValue(s.filter.threshold);
    m_topK->setValue(s.filter.topK);
    m_dropSink->setChecked(s.filter.dropSink);
    m_mode->setCurrentIndex(m_mode->findData(static_cast<int>(s.mode)));
    m_highlight->setCurrentIndex(m_highlight->findData(static_cast<int>(s.highlight)));
    m_updating = false;
    emit selectionChanged();
}

QString AttentionPage::input() const {
    return m_input->text();
}
void AttentionPage::setInput(const QString& text) {
    m_input->setText(text);
}

void AttentionPage::stepTeacherHead(int d) {
    m_th->setValue(m_th->value() + d);
}
void AttentionPage::stepTeacherLayer(int d) {
    m_tl->setValue(m_tl->value() + d);
}
void AttentionPage::stepStudentHead(int d) {
    m_sh->setValue(m_sh->value() + d);
}
void AttentionPage::stepStudentBlock(int d) {
    m_sb->setValue(m_sb->value() + d);
}

void AttentionPage::selectToken(int t) {
    m_token = t;
    m_chips->setSelected(t);
    m_kl->setCursor(t);
    updatePredictions();
    emit tokenSelected(t);
}

void AttentionPage::updatePredictions() {
    const int t = m_token;
    m_predictions->clearContents();
    if (t < 0 || t >= static_cast<int>(m_summary.teacherTopK.size())) return;
    m_predictions->setToolTip(tr("Next-token predictions after token %1").arg(t));
    auto fill = [&](const std::vector<Prediction>& p, int col) {
        for (int k = 0; k < static_cast<int>(p.size()) && k < 5; ++k) {
            m_predictions->setItem(
                k, col,
                new QTableWidgetItem(widgets::visibleTokenText(p[static_cast<size_t>(k)].label)));
            const auto prob = static_cast<double>(p[static_cast<size_t>(k)].probability);
            // NaN: a top-K capture written without its log-normaliser (rank only). With a 152k
            // vocabulary most probabilities are far below 0.001: those are shown in scientific
            // notation, and every cell carries the log-probability and the token id.
            auto* item = new QTableWidgetItem(std::isnan(prob) ? QStringLiteral("—")
                                              : prob >= 0.001  ? QString::number(prob, 'f', 3)
                                                               : QString::number(prob, 'e', 1));
            if (!std::isnan(prob))
                item->setToolTip(tr("log p = %1, token id %2")
                                     .arg(std::log(prob), 0, 'f', 3)
                                     .arg(p[static_cast<size_t>(k)].id));
            m_predictions->setItem(k, col + 1, item);
        }
    };
    fill(m_summary.teacherTopK[static_cast<size_t>(t)], 0);
    fill(m_summary.studentTopK[static_cast<size_t>(t)], 2);
}

}  // namespace dxl::studio
