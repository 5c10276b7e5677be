// DistillPlots: RunLogTail series -> LossPlot / LinePlots with per-run colours.
#include "app/studio/distill_plots.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QTabWidget>
#include <QVBoxLayout>
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
    m_beta = new QDoubleSpinBox(this);
    m_beta->setRange(0.0, 0.999);
    m_beta->setDecimals(3);
    m_beta->setSingleStep(0.05);
    m_beta->setValue(0.8);
    m_beta->setToolTip(tr("EMA smoothing \u03b2 of the loss curves (0 = off), debiased"));
    bar->addWidget(new QLabel(tr("Loss terms"), this));
    bar->addWidget(m_term);
    bar->addWidget(new QLabel(tr("EMA \u03b2"), this));
    bar->addWidget(m_beta);
    bar->addStretch(1);
    layout->addLayout(bar);
    auto* grid = new QGridLayout();
    grid->setSpacing(4);
    m_loss = new widgets::LossPlot(this);
    m_loss->setName(QStringLiteral("distill_losses"));
    m_loss->setTitle(tr("Losses (log; faded raw, bold debiased EMA)"));
    m_loss->setSmoothing(m_beta->value());
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
    connect(m_beta, qOverload<double>(&QDoubleSpinBox::valueChanged), this, [this](double b) {
        m_loss->setSmoothing(b);
        drawLosses();
    });
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
    const QString term = lossTerm();
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
    m_loss->setSeriesStyles(styles);
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
