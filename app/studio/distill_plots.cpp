// DistillPlots: RunLogTail series -> LossPlot / LinePlots with per-run colours.
#include "app/studio/distill_plots.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QTabWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <set>

#include "app/studio/run_log_tail.h"
#include "widgets/loss_plot.h"

namespace dxl::studio {

namespace {

const Qt::PenStyle kStyles[] = {Qt::SolidLine, Qt::DashLine, Qt::DotLine, Qt::DashDotLine,
                                Qt::DashDotDotLine};

bool isLossTerm(const std::string& n) {
    return n == "total" || n == "ce" || n == "kl" || n == "hidden" || n == "output" ||
           n.rfind("attn_", 0) == 0;
}

widgets::LinePlot* makePlot(QWidget* parent, const QString& name, const QString& title,
                            const QString& y) {
    auto* p = new widgets::LinePlot(parent);
    p->setName(name);
    p->setTitle(title);
    p->setAxisLabels(QObject::tr("step"), y);
    return p;
}

QString displayName(const char* metric) {
    const std::string m = metric;
    if (m == "ppl") return QObject::tr("student ppl");
    if (m == "teacher_ppl") return QObject::tr("teacher ppl");
    if (m == "top1_agreement") return QObject::tr("top-1 agreement");
    if (m == "task_acc") return QObject::tr("task accuracy");
    return QString::fromLatin1(metric);
}

constexpr char kAlignPrefix[] = "align_js:";  // evaluate_alignment's per-pair keys

Series named(const Series& s, const QString& name) {
    Series out = s;
    out.name = name.toStdString();
    return out;
}

}  // namespace

DistillPlots::DistillPlots(QWidget* parent) : QWidget(parent) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    auto* bar = new QHBoxLayout();
    m_term = new QComboBox(this);
    m_term->setObjectName(QStringLiteral("lossTerm"));
    m_term->addItem(tr("all terms"), QStringLiteral("all terms"));
    m_term->addItem(QStringLiteral("total"), QStringLiteral("total"));
    m_smoothing = new QComboBox(this);
    m_smoothing->setObjectName(QStringLiteral("smoothingMethod"));
    m_smoothing->addItem(tr("EMA"), static_cast<int>(widgets::Smoothing::Ema));
    m_smoothing->addItem(tr("Gaussian"), static_cast<int>(widgets::Smoothing::Gaussian));
    m_smoothing->addItem(tr("running mean"), static_cast<int>(widgets::Smoothing::RunningMean));
    m_smoothing->setToolTip(
        tr("How the bold loss curves are smoothed (on the full-resolution data; "
           "the raw values stay faded underneath)"));
    m_paramLabel = new QLabel(this);
    m_param = new QDoubleSpinBox(this);
    m_param->setObjectName(QStringLiteral("smoothingParam"));
    m_ignoreOutliers = new QCheckBox(tr("ignore outliers"), this);
    m_ignoreOutliers->setObjectName(QStringLiteral("ignoreOutliers"));
    m_ignoreOutliers->setToolTip(
        tr("Fit every y axis to the 1st-99th percentile of the data, so "
           "one spike does not flatten the curves"));
    m_fromZero = new QCheckBox(tr("y from 0"), this);
    m_fromZero->setObjectName(QStringLiteral("yFromZero"));
    m_fromZero->setToolTip(tr("Start linear y axes at 0 (log axes are unaffected)"));
    m_group = new QCheckBox(tr("group runs (mean \u00b1 std)"), this);
    m_group->setObjectName(QStringLiteral("groupRuns"));
    m_group->setToolTip(
        tr("Several runs (e.g. seeds): the selected loss term (total for \"all "
           "terms\") as the mean of the smoothed runs with a \u00b11 std band"));
    bar->addWidget(new QLabel(tr("Loss terms"), this));
    bar->addWidget(m_term);
    bar->addSpacing(12);
    bar->addWidget(new QLabel(tr("smoothing"), this));
    bar->addWidget(m_smoothing);
    bar->addWidget(m_paramLabel);
    bar->addWidget(m_param);
    bar->addSpacing(12);
    bar->addWidget(m_ignoreOutliers);
    bar->addWidget(m_fromZero);
    bar->addSpacing(12);
    bar->addWidget(m_group);
    bar->addStretch(1);
    layout->addLayout(bar);
    auto* grid = new QGridLayout();
    grid->setSpacing(4);
    m_loss = new widgets::LossPlot(this);
    m_loss->setName(QStringLiteral("distill_losses"));
    m_loss->setTitle(tr("Losses (log; faded raw, bold smoothed)"));
    m_schedules =
        makePlot(this, QStringLiteral("distill_schedules"), tr("Schedules"), tr("weight"));
    m_schedules->setRightAxis(4, tr("learning rate"));
    m_grad = makePlot(this, QStringLiteral("distill_grad_norm"), tr("Gradient norm (pre-clip)"),
                      tr("\u2016g\u2016"));
    m_speed =
        makePlot(this, QStringLiteral("distill_tokens_per_s"), tr("Throughput"), tr("tokens/s"));
    m_ppl = makePlot(this, QStringLiteral("distill_eval_ppl"),
                     tr("Held-out perplexity (solid student, dashed teacher)"), tr("perplexity"));
    m_ppl->setLogY(true);
    m_agree =
        makePlot(this, QStringLiteral("distill_eval_agreement"),
                 tr("Held-out top-1 agreement (solid), task accuracy (dotted)"), tr("fraction"));
    m_align = makePlot(this, QStringLiteral("distill_eval_alignment"),
                       tr("Matched head alignment, held-out batch (JS, lower = more alike)"),
                       tr("JS (nats)"));
    const QList<QWidget*> plots = {m_loss, m_schedules, m_grad, m_ppl, m_agree, m_speed};
    for (int i = 0; i < plots.size(); ++i)
        grid->addWidget(plots[i], i / 3, i % 3);
    // The training plots and, on a tab of its own (one legend entry per matched pair), the head
    // alignment of runs with eval_alignment.
    m_pages = new QTabWidget(this);
    m_pages->setObjectName(QStringLiteral("distillPlotTabs"));
    m_pages->setDocumentMode(true);
    auto* training = new QWidget(m_pages);
    training->setLayout(grid);
    grid->setContentsMargins(0, 0, 0, 0);
    m_pages->addTab(training, tr("Training"));
    m_pages->addTab(m_align, tr("Head alignment"));
    m_pages->setTabToolTip(1, tr("Runs with \"head alignment\" (eval_alignment) log it at every "
                                 "evaluation"));
    layout->addWidget(m_pages, 1);
    connect(m_term, qOverload<int>(&QComboBox::currentIndexChanged), this,
            [this] { drawLosses(); });
    onSmoothingMethodChanged();
    connect(m_smoothing, qOverload<int>(&QComboBox::currentIndexChanged), this,
            &DistillPlots::onSmoothingMethodChanged);
    connect(m_param, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double v) {
        m_params[m_smoothing->currentIndex()] = v;
        applySmoothing();
    });
    // The data are whole, small series: smoothing and refitting them is cheap enough for the GUI
    // thread (no torch, at most a few 1e5 points).
    connect(m_ignoreOutliers, &QCheckBox::toggled, this, &DistillPlots::applyYScale);
    connect(m_fromZero, &QCheckBox::toggled, this, &DistillPlots::applyYScale);
    connect(m_group, &QCheckBox::toggled, this, [this] { drawLosses(); });
}

void DistillPlots::onSmoothingMethodChanged() {
    const int i = std::max(0, m_smoothing->currentIndex());
    const auto method = static_cast<widgets::Smoothing>(m_smoothing->itemData(i).toInt());
    const QSignalBlocker block(m_param);  // one replot, after the range and value are set
    switch (method) {
        case widgets::Smoothing::Ema:
            m_paramLabel->setText(tr("EMA \u03b2"));
            m_param->setRange(0.0, 0.999);
            m_param->setDecimals(3);
            m_param->setSingleStep(0.05);
            m_param->setToolTip(tr("EMA smoothing \u03b2 of the loss curves (0 = off), debiased"));
            break;
        case widgets::Smoothing::Gaussian:
            m_paramLabel->setText(tr("\u03c3 (steps)"));
            // O(N * 6 sigma) exp() per curve: sigma <= 200 keeps a 1e5-step run well under a
            // second on the GUI thread.
            m_param->setRange(0.0, 200.0);
            m_param->setDecimals(1);
            m_param->setSingleStep(1.0);
            m_param->setToolTip(
                tr("Gaussian kernel width in steps (0 = off); NaN gaps and the "
                   "ends use the valid samples in reach"));
            break;
        case widgets::Smoothing::RunningMean:
            m_paramLabel->setText(tr("window (steps)"));
            m_param->setRange(1.0, 100000.0);
            m_param->setDecimals(0);
            m_param->setSingleStep(5.0);
            m_param->setToolTip(tr("Centred running mean over this many steps (1 = off)"));
            break;
    }
    m_param->setValue(m_params[i]);
    applySmoothing();
}

void DistillPlots::applySmoothing() {
    const int i = std::max(0, m_smoothing->currentIndex());
    m_loss->setSmoothing(static_cast<widgets::Smoothing>(m_smoothing->itemData(i).toInt()),
                         m_param->value());
}

void DistillPlots::applyYScale() {
    const widgets::YScaleOptions o{m_ignoreOutliers->isChecked(), m_fromZero->isChecked()};
    for (widgets::LinePlot* p : {static_cast<widgets::LinePlot*>(m_loss), m_schedules, m_grad,
                                 m_speed, m_ppl, m_agree, m_align})
        p->setYScale(o);
}

QString DistillPlots::lossTerm() const {
    return m_term->currentData().toString();
}

QList<widgets::ExportableFigure*> DistillPlots::figures() const {
    QList<widgets::ExportableFigure*> all = {m_loss, m_schedules, m_grad, m_ppl, m_agree, m_speed};
    if (hasAlignment()) all << m_align;
    return all;
}

bool DistillPlots::hasAlignment() const {
    for (const RunView& v : m_runs)
        for (const auto& [name, s] : v.run->eval())
            if (name.rfind(kAlignPrefix, 0) == 0 && !s.keys.empty()) return true;
    return false;
}

void DistillPlots::drawAlignment() {
    // One run: a colour per matched pair, the mean dashed. Several runs: a colour per run, a dash
    // per pair.
    const bool many = m_runs.size() > 1;
    std::vector<Series> series;
    std::vector<widgets::SeriesStyle> styles;
    for (const RunView& v : m_runs) {
        int k = 0;
        for (const auto& [name, s] : v.run->eval()) {
            const bool pair = name.rfind(kAlignPrefix, 0) == 0;
            if ((!pair && name != "align_js_mean") || s.keys.empty()) continue;
            QString label =
                pair ? QString::fromStdString(name.substr(sizeof kAlignPrefix - 1)) : tr("mean");
            if (many) label = v.run->name() + QStringLiteral(" \u00b7 ") + label;
            series.push_back(named(s, label));
            const int style = pair ? ++k : 0;
            styles.push_back({many ? v.colour : (pair ? style : 0),
                              pair ? (many ? kStyles[style % 5] : Qt::SolidLine) : Qt::DashLine,
                              true});
        }
    }
    m_align->setSeriesStyles(styles);
    m_align->setSeries(series);
}

void DistillPlots::setRuns(const std::vector<RunView>& runs, int current) {
    m_runs = runs;
    m_current = current;
    // Offer every loss term any run has logged.
    std::set<std::string> terms;
    for (const RunView& v : m_runs)
        for (const auto& [name, s] : v.run->train())
            if (isLossTerm(name) && name != "total") terms.insert(name);
    for (const std::string& t : terms) {
        const QString q = QString::fromStdString(t);
        if (m_term->findData(q) < 0) m_term->addItem(q, q);
    }
    redraw();
}

void DistillPlots::drawLosses() {
    const bool group = m_group->isChecked() && m_runs.size() > 1;
    QString term = lossTerm();
    if (group && term == QStringLiteral("all terms")) term = QStringLiteral("total");
    const bool many = m_runs.size() > 1;
    std::vector<Series> series;
    std::vector<widgets::SeriesStyle> styles;
    for (const RunView& v : m_runs) {
        int k = 0;
        for (const auto& [name, s] : v.run->train()) {
            if (!isLossTerm(name)) continue;
            const bool show =
                term == QStringLiteral("all terms") ? true : QString::fromStdString(name) == term;
            const int style = name == "total" ? 0 : ++k;
            if (!show || s.keys.empty()) continue;
            const QString label =
                many ? v.run->name() + QStringLiteral(" \u00b7 ") + QString::fromStdString(name)
                     : QString::fromStdString(name);
            series.push_back(named(s, label));
            // One run: a colour per term. Several runs: a colour per run, a dash per term.
            styles.push_back(
                {many ? v.colour : style, many ? kStyles[style % 5] : Qt::SolidLine, false});
        }
    }
    m_loss->setTitle(group ? tr("Losses (log): %1, runs grouped").arg(term)
                           : tr("Losses (log; faded raw, bold smoothed)"));
    m_loss->setSeriesStyles(styles);
    if (m_loss->groupRuns() != group) m_loss->setGroupRuns(group);
    m_loss->setRuns(series);
}

void DistillPlots::redraw() {
    drawLosses();
    const bool many = m_runs.size() > 1;
    auto perRun = [&](widgets::LinePlot* plot, bool eval,
                      const std::vector<std::pair<const char*, Qt::PenStyle>>& metrics) {
        std::vector<Series> series;
        std::vector<widgets::SeriesStyle> styles;
        for (const RunView& v : m_runs) {
            for (const auto& [metric, pen] : metrics) {
                const Series& s = eval ? v.run->evalSeries(metric) : v.run->trainSeries(metric);
                if (s.keys.empty()) continue;
                QString label = displayName(metric);
                if (many || metrics.size() == 1) label = v.run->name();
                if (many && metrics.size() > 1)
                    label += QStringLiteral(" \u00b7 ") + displayName(metric);
                series.push_back(named(s, label));
                styles.push_back({v.colour, pen, eval});
            }
        }
        plot->setSeriesStyles(styles);
        plot->setSeries(series);
    };
    perRun(m_grad, false, {{"grad_norm", Qt::SolidLine}});
    perRun(m_speed, false, {{"tokens_per_s", Qt::SolidLine}});
    perRun(m_ppl, true, {{"ppl", Qt::SolidLine}, {"teacher_ppl", Qt::DashLine}});
    perRun(m_agree, true, {{"top1_agreement", Qt::SolidLine}, {"task_acc", Qt::DotLine}});
    drawAlignment();

    // Schedules of the current run: one colour per quantity, LR on the right axis.
    std::vector<Series> sched;
    if (m_current >= 0 && m_current < static_cast<int>(m_runs.size())) {
        const RunLogTail* run = m_runs[static_cast<size_t>(m_current)].run;
        for (const char* m : {"alpha", "temperature", "beta", "ce_weight", "lr"}) {
            Series s = run->trainSeries(m);
            s.name = m == std::string("temperature") ? "T" : m;
            if (s.keys.empty()) {  // keep the LR on the right axis even without weights
                s.keys = {0.0};
                s.values = {std::nan("")};
            }
            sched.push_back(s);
        }
        m_schedules->setTitle(tr("Schedules of %1 (LR on the right)").arg(run->name()));
    }
    m_schedules->setSeriesStyles({});
    m_schedules->setSeries(sched);
}

}  // namespace dxl::studio
