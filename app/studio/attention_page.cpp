// AttentionPage: controls and views of the Inspect page.
#include "app/studio/attention_page.h"

#include <cmath>

#include <QCheckBox>
#include <QComboBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include "widgets/linked_heatmaps.h"
#include "widgets/token_strip.h"
#include "widgets/token_text.h"

namespace dxl::studio {

AttentionPage::AttentionPage(QWidget* parent) : QWidget(parent) {
    auto* outer = new QVBoxLayout(this);
    auto* inputRow = new QHBoxLayout();
    m_input = new QLineEdit(this);
    m_input->setObjectName(QStringLiteral("inputLine"));
    m_input->setPlaceholderText(
        tr("Token ids (37,0,93,...) or text when the model has a tokenizer"));
    auto* run = new QPushButton(tr("&Run"), this);
    inputRow->addWidget(new QLabel(tr("Input:"), this));
    inputRow->addWidget(m_input, 1);
    inputRow->addWidget(run);
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
    m_scale = new QComboBox(this);
    m_scale->addItems({tr("linear"), tr("log"), tr("gamma 0.5")});
    m_shared = new QCheckBox(tr("shared colour range"), this);
    m_shared->setChecked(true);
    controls->addWidget(new QLabel(tr("Teacher L"), this));
    controls->addWidget(m_tl);
    controls->addWidget(new QLabel(tr("H"), this));
    controls->addWidget(m_th);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Student B"), this));
    controls->addWidget(m_sb);
    controls->addWidget(new QLabel(tr("H"), this));
    controls->addWidget(m_sh);
    controls->addSpacing(12);
    controls->addWidget(new QLabel(tr("Student normalisation"), this));
    controls->addWidget(m_norm);
    controls->addWidget(new QLabel(tr("Scale"), this));
    controls->addWidget(m_scale);
    controls->addWidget(m_shared);
    controls->addStretch(1);
    outer->addLayout(controls);

    auto* split = new QSplitter(Qt::Horizontal, this);
    auto* left = new QWidget(split);
    auto* leftLayout = new QVBoxLayout(left);
    leftLayout->setContentsMargins(0, 0, 0, 0);
    m_kl = new widgets::TokenStrip(left);
    m_kl->setTitle(tr("Per-token KL(teacher \u2016 student)"));
    m_kl->setMinimumHeight(150);
    m_kl->setMaximumHeight(170);
    leftLayout->addWidget(m_kl);
    m_linked = new widgets::LinkedHeatmaps(left);
    leftLayout->addWidget(m_linked, 1);
    m_predictions = new QTableWidget(5, 4, split);
    m_predictions->setHorizontalHeaderLabels({tr("teacher"), tr("p"), tr("student"), tr("p")});
    // Token columns share the spare width; probability columns fit their numbers.
    m_predictions->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    for (int c : {1, 3})
        m_predictions->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_predictions->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_predictions->setMinimumWidth(260);
    split->addWidget(left);
    split->addWidget(m_predictions);
    split->setStretchFactor(0, 5);
    split->setStretchFactor(1, 1);
    outer->addWidget(split, 1);

    auto changed = [this] {
        if (!m_updating) emit selectionChanged();
    };
    for (QSpinBox* s : {m_tl, m_th, m_sb, m_sh})
        connect(s, qOverload<int>(&QSpinBox::valueChanged), this, changed);
    connect(m_norm, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!m_updating) emit normChanged();
    });
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
    selectToken(summary.tokens.size() - 1);
}

void AttentionPage::setMaps(const MapsResult& maps) {
    // Two-line titles (the student pane adds the normalisation as its second line) keep the
    // three panes aligned and fit a narrow pane.
    const QString t =
        tr("Teacher L%1 H%2\nsoftmax attention").arg(maps.teacherLayer).arg(maps.teacherHead);
    const QString s =
        tr("Student B%1 H%2 implicit attention").arg(maps.studentBlock).arg(maps.studentHead);
    m_linked->setName(QStringLiteral("attention_t%1.%2_s%3.%4")
                          .arg(maps.teacherLayer)
                          .arg(maps.teacherHead)
                          .arg(maps.studentBlock)
                          .arg(maps.studentHead));
    m_linked->setMaps(maps.teacher, maps.student, m_summary.tokens, t, s,
                      QString::fromLatin1(normName(maps.norm)));
    applyScale();
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
            // NaN: a top-K capture written without its log-normaliser (rank only).
            m_predictions->setItem(
                k, col + 1,
                new QTableWidgetItem(std::isnan(prob) ? QStringLiteral("—")
                                                      : QString::number(prob, 'f', 3)));
        }
    };
    fill(m_summary.teacherTopK[static_cast<size_t>(t)], 0);
    fill(m_summary.studentTopK[static_cast<size_t>(t)], 2);
}

}  // namespace dxl::studio
