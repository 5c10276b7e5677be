// DistillConfigForm: presets, form fields and the JSON editor over one run-config document.
#include "app/studio/distill_config_form.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QDoubleValidator>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFontDatabase>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>

#include "core/base/error.h"
#include "core/data/json_util.h"
#include "core/train/train_config.h"

namespace dxl::studio {

namespace {

struct PresetInfo {
    const char* key;
    const char* file;
    const char* title;
};
constexpr PresetInfo kPresets[] = {
    {"paper", "distill_paper.json", "Distil-xLSTM paper recipe"},
    {"mohawk", "distill_mohawk.json", "MOHAWK-style (3 stages)"},
    {"lolcats", "distill_lolcats.json", "LoLCATs-style (2 stages)"},
};
constexpr const char* kKinds[] = {"constant", "delta", "linear", "cosine"};

QSpinBox* spin(QWidget* parent, int lo, int hi) {
    auto* s = new QSpinBox(parent);
    s->setRange(lo, hi);
    return s;
}

nlohmann::json objectOr(const nlohmann::json& j, const char* key) {
    if (j.is_object() && j.contains(key) && j.at(key).is_object()) return j.at(key);
    return nlohmann::json::object();
}

bool hasModel(const std::string& dir) {
    return QFileInfo::exists(QString::fromStdString(dir) + QStringLiteral("/config.json"));
}

}  // namespace

DistillConfigForm::DistillConfigForm(const QString& configDir, QWidget* parent)
    : QWidget(parent), m_configDir(configDir) {
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    m_tabs = new QTabWidget(this);
    m_tabs->addTab(buildForm(), tr("Form"));
    auto* jsonPage = new QWidget(m_tabs);
    auto* jl = new QVBoxLayout(jsonPage);
    m_json = new QPlainTextEdit(jsonPage);
    m_json->setObjectName(QStringLiteral("distillJson"));
    m_json->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_json->setToolTip(tr("The run config `dxl distill --config` reads (docs/distillation.md)"));
    auto* apply = new QPushButton(tr("Apply JSON"), jsonPage);
    m_jsonStatus = new QLabel(jsonPage);
    m_jsonStatus->setWordWrap(true);
    jl->addWidget(m_json, 1);
    auto* row = new QHBoxLayout();
    row->addWidget(apply);
    row->addWidget(m_jsonStatus, 1);
    jl->addLayout(row);
    m_tabs->addTab(jsonPage, tr("JSON (advanced)"));
    layout->addWidget(m_tabs);
    connect(apply, &QPushButton::clicked, this, [this] {
        const auto j = nlohmann::json::parse(m_json->toPlainText().toStdString(), nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            m_jsonStatus->setText(tr("Not a JSON object; nothing applied."));
            return;
        }
        m_autoOut = false;
        setConfig(j);
        const QString why = validate();
        m_jsonStatus->setText(why.isEmpty() ? tr("Applied.") : why);
    });
    connect(m_tabs, &QTabWidget::currentChanged, this, [this](int i) {
        if (i == 1) m_json->setPlainText(QString::fromStdString(m_doc.dump(2)));
    });
    loadPreset(QStringLiteral("paper"));
}

QWidget* DistillConfigForm::buildForm() {
    auto* page = new QWidget(this);
    auto* form = new QFormLayout(page);
    form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    m_preset = new QComboBox(page);
    m_preset->setObjectName(QStringLiteral("distillPreset"));
    for (const auto& p : kPresets)
        m_preset->addItem(tr(p.title), QString::fromLatin1(p.key));
    form->addRow(tr("Preset"), m_preset);
    auto pathRow = [&](QLineEdit** edit, const QString& label, const QString& title) {
        *edit = new QLineEdit(page);
        auto* box = new QHBoxLayout();
        box->addWidget(*edit, 1);
        auto* b = new QToolButton(page);
        b->setText(QStringLiteral("\u2026"));
        box->addWidget(b);
        form->addRow(label, box);
        QLineEdit* e = *edit;
        connect(b, &QToolButton::clicked, this, [this, e, title] { browse(e, title); });
    };
    pathRow(&m_teacher, tr("Teacher"), tr("Teacher model folder"));
    pathRow(&m_student, tr("Student"), tr("Student model folder"));
    m_student->setPlaceholderText(tr("empty: a new student built from the teacher"));
    pathRow(&m_out, tr("Output folder"), tr("Run output folder"));
    m_data = new QLineEdit(page);
    m_data->setToolTip(
        tr("fortunes, text:PATH, jsonl:PATH#field, mqar, induction joined by '+'; "
           "a synthetic part may carry @share, e.g. fortunes+mqar@0.1"));
    form->addRow(tr("Data"), m_data);
    m_seqLen = spin(page, 2, 65536);
    m_batch = spin(page, 1, 4096);
    m_accum = spin(page, 1, 1024);
    auto* sizes = new QHBoxLayout();
    for (auto [w, l] : {std::pair<QSpinBox*, QString>{m_seqLen, tr("T")},
                        {m_batch, tr("batch")},
                        {m_accum, tr("accum")}}) {
        sizes->addWidget(new QLabel(l, page));
        sizes->addWidget(w, 1);
    }
    form->addRow(tr("Sizes"), sizes);
    m_evalEvery = spin(page, 0, 1000000);
    m_ckptEvery = spin(page, 0, 1000000);
    auto* cadence = new QHBoxLayout();
    cadence->addWidget(new QLabel(tr("eval"), page));
    cadence->addWidget(m_evalEvery, 1);
    cadence->addWidget(new QLabel(tr("ckpt"), page));
    cadence->addWidget(m_ckptEvery, 1);
    m_evalAlign = new QCheckBox(tr("head alignment"), page);
    m_evalAlign->setObjectName(QStringLiteral("evalAlignment"));
    m_evalAlign->setToolTip(
        tr("At every evaluation also align teacher attention with student implicit attention on "
           "a held-out batch (JS of the Hungarian-matched heads; \"eval_alignment\")"));
    cadence->addWidget(m_evalAlign);
    form->addRow(tr("Every (steps)"), cadence);
    m_stage = new QComboBox(page);
    form->addRow(tr("Stage"), m_stage);
    m_steps = spin(page, 1, 100000000);
    m_steps->setObjectName(QStringLiteral("distillSteps"));
    m_lr = new QLineEdit(page);
    auto* v = new QDoubleValidator(1e-12, 10.0, 12, m_lr);
    v->setNotation(QDoubleValidator::ScientificNotation);
    m_lr->setValidator(v);
    auto* stepRow = new QHBoxLayout();
    stepRow->addWidget(m_steps, 1);
    stepRow->addWidget(new QLabel(tr("LR"), page));
    stepRow->addWidget(m_lr, 1);
    form->addRow(tr("Steps"), stepRow);
    m_alpha = addScheduleRow(form, tr("\u03b1 (KD)"));
    m_temperature = addScheduleRow(form, tr("T (temp.)"));
    m_beta = addScheduleRow(form, tr("\u03b2 (hidden)"));
    m_total = new QLabel(page);
    form->addRow(QString(), m_total);

    connect(m_preset, qOverload<int>(&QComboBox::activated), this, [this](int i) {
        QString error;
        if (!loadPreset(m_preset->itemData(i).toString(), &error))
            m_total->setText(tr("Preset not loaded: %1").arg(error));
    });
    connect(m_teacher, &QLineEdit::editingFinished, this,
            [this] { editTop("teacher", m_teacher->text().toStdString()); });
    connect(m_student, &QLineEdit::editingFinished, this, [this] {
        if (m_student->text().isEmpty()) {
            // Back to the preset's student spec (a new student built from the teacher).
            nlohmann::json s = objectOr(m_doc, "student");
            s.erase("dir");
            editTop("student", s);
        } else {
            nlohmann::json s = objectOr(m_doc, "student");
            s["dir"] = m_student->text().toStdString();
            editTop("student", s);
        }
    });
    connect(m_out, &QLineEdit::editingFinished, this, [this] {
        m_autoOut = false;
        editTop("out_dir", m_out->text().toStdString());
    });
    connect(m_data, &QLineEdit::editingFinished, this, [this] {
        nlohmann::json d = objectOr(m_doc, "data");
        d.erase("sources");
        d["spec"] = m_data->text().toStdString();
        editTop("data", d);
    });
    connect(m_seqLen, &QSpinBox::editingFinished, this, [this] {
        nlohmann::json d = objectOr(m_doc, "data");
        d["seq_len"] = m_seqLen->value();
        editTop("data", d);
    });
    connect(m_batch, &QSpinBox::editingFinished, this,
            [this] { editTop("batch_size", m_batch->value()); });
    connect(m_accum, &QSpinBox::editingFinished, this,
            [this] { editTop("grad_accum", m_accum->value()); });
    connect(m_evalEvery, &QSpinBox::editingFinished, this,
            [this] { editTop("eval_every", m_evalEvery->value()); });
    connect(m_ckptEvery, &QSpinBox::editingFinished, this,
            [this] { editTop("ckpt_every", m_ckptEvery->value()); });
    connect(m_evalAlign, &QCheckBox::clicked, this,
            [this](bool on) { editTop("eval_alignment", on); });
    connect(m_stage, qOverload<int>(&QComboBox::currentIndexChanged), this, [this] {
        if (!m_refreshing) refresh();
    });
    connect(m_steps, &QSpinBox::editingFinished, this, [this] {
        editStage([this](nlohmann::json& s) {
            s["steps"] = m_steps->value();
            s.erase("tokens");
        });
    });
    connect(m_lr, &QLineEdit::editingFinished, this, [this] {
        editStage([this](nlohmann::json& s) { s["lr"] = m_lr->text().toDouble(); });
    });
    return page;
}

DistillConfigForm::ScheduleRow DistillConfigForm::addScheduleRow(QFormLayout* form,
                                                                 const QString& label) {
    ScheduleRow r;
    QWidget* page = form->parentWidget();
    r.kind = new QComboBox(page);
    for (const char* k : kKinds)
        r.kind->addItem(QString::fromLatin1(k));
    r.start = new QDoubleSpinBox(page);
    r.end = new QDoubleSpinBox(page);
    for (QDoubleSpinBox* s : {r.start, r.end}) {
        s->setRange(0.0, 1000.0);
        s->setDecimals(3);
        s->setSingleStep(0.05);
    }
    r.start->setToolTip(tr("value at step 0"));
    r.end->setToolTip(tr("final value (delta / linear / cosine)"));
    auto* box = new QHBoxLayout();
    box->addWidget(r.kind);
    box->addWidget(r.start, 1);
    box->addWidget(new QLabel(QStringLiteral("\u2192"), page));
    box->addWidget(r.end, 1);
    form->addRow(label, box);
    const char* key = label.startsWith(QChar(0x3b1))   ? "alpha"
                      : label.startsWith(QChar(0x3b2)) ? "beta"
                                                       : "temperature";
    auto commit = [this, key, r] { editSchedule(key, r); };
    connect(r.kind, qOverload<int>(&QComboBox::activated), this, commit);
    connect(r.start, &QDoubleSpinBox::editingFinished, this, commit);
    connect(r.end, &QDoubleSpinBox::editingFinished, this, commit);
    return r;
}

void DistillConfigForm::browse(QLineEdit* edit, const QString& title) {
    const QString dir = QFileDialog::getExistingDirectory(this, title, edit->text());
    if (dir.isEmpty()) return;
    edit->setText(dir);
    emit edit->editingFinished();
}

bool DistillConfigForm::loadPreset(const QString& key, QString* error) {
    for (const auto& p : kPresets) {
        if (key != QLatin1String(p.key)) continue;
        QFile f(m_configDir + QLatin1Char('/') + QLatin1String(p.file));
        if (!f.open(QIODevice::ReadOnly)) {
            if (error) *error = tr("%1: cannot be read").arg(f.fileName());
            return false;
        }
        auto j = nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            if (error) *error = tr("%1: not a JSON object").arg(f.fileName());
            return false;
        }
        j.erase("_comment");
        m_doc = j;
        if (m_autoOut) renewOutDir();
        m_doc["out_dir"] = m_out->text().toStdString();
        if (m_haveModels) applyModelDefaults();
        refresh();
        emit changed();
        return true;
    }
    if (error) *error = tr("unknown preset '%1'").arg(key);
    return false;
}

QString DistillConfigForm::presetKey() const {
    const std::string p = data::json_string_or(m_doc, "preset", "");
    if (p == "mohawk" || p == "lolcats") return QString::fromStdString(p);
    return QStringLiteral("paper");  // "distil-xlstm" or explicit stages
}

void DistillConfigForm::setModels(const ModelsLoaded& models) {
    m_models = models;
    m_haveModels = true;
    applyModelDefaults();
    refresh();
    emit changed();
}

void DistillConfigForm::applyModelDefaults() {
    const ModelSummary& t = m_models.teacher;
    m_doc["teacher"] = t.dir;
    nlohmann::json s = objectOr(m_doc, "student");
    if (!m_models.student.dir.empty()) s["dir"] = m_models.student.dir;
    m_doc["student"] = s;
    nlohmann::json d = objectOr(m_doc, "data");
    d.erase("sources");
    int64_t seq = data::json_int_or(d, "seq_len", 128);
    if (t.hasTokenizer) {  // text the teacher can read, with a little MQAR mixed in
        d["spec"] = "fortunes+mqar@0.1";
        seq = std::max<int64_t>(seq, 128);
    } else {  // ids only: synthetic tasks in the teacher's vocabulary
        d["spec"] = "mqar@0.5+induction@0.5";
    }
    if (t.context > 0) seq = std::min<int64_t>(seq, t.context);
    d["seq_len"] = seq;
    m_doc["data"] = d;
}

void DistillConfigForm::setConfig(const nlohmann::json& config) {
    m_doc = config;
    refresh();
    emit changed();
}

void DistillConfigForm::refresh() {
    m_refreshing = true;
    const QString presetKeyNow = presetKey();
    for (int i = 0; i < m_preset->count(); ++i)
        if (m_preset->itemData(i).toString() == presetKeyNow) m_preset->setCurrentIndex(i);
    m_teacher->setText(QString::fromStdString(data::json_string_or(m_doc, "teacher", "")));
    const auto student = objectOr(m_doc, "student");
    m_student->setText(QString::fromStdString(data::json_string_or(student, "dir", "")));
    m_out->setText(QString::fromStdString(data::json_string_or(m_doc, "out_dir", "")));
    const auto dj = objectOr(m_doc, "data");
    m_data->setText(QString::fromStdString(data::json_string_or(dj, "spec", "")));
    m_data->setPlaceholderText(dj.contains("sources") ? tr("(sources: see the JSON tab)")
                                                      : QString());
    try {
        const train::RunConfig rc = train::parse_run_config(m_doc, "run config");
        m_seqLen->setValue(static_cast<int>(rc.data.seq_len));
        m_batch->setValue(static_cast<int>(rc.batch_size));
        m_accum->setValue(static_cast<int>(rc.grad_accum));
        m_evalEvery->setValue(static_cast<int>(rc.eval_every));
        m_ckptEvery->setValue(static_cast<int>(rc.ckpt_every));
        m_evalAlign->setChecked(rc.eval_alignment);
        const int current = std::max(0, m_stage->currentIndex());
        m_stage->clear();
        for (size_t i = 0; i < rc.stages.size(); ++i)
            m_stage->addItem(
                QStringLiteral("%1. %2").arg(i + 1).arg(QString::fromStdString(rc.stages[i].name)));
        m_stage->setCurrentIndex(std::min(current, m_stage->count() - 1));
        const train::StageConfig& st = rc.stages[static_cast<size_t>(m_stage->currentIndex())];
        m_steps->setValue(static_cast<int>(st.steps));
        m_lr->setText(QString::number(st.lr, 'g', 6));
        auto show = [](const ScheduleRow& r, const train::Schedule& s, bool on) {
            r.kind->setCurrentIndex(static_cast<int>(s.kind));
            r.start->setValue(s.start);
            r.end->setValue(s.end);
            for (QWidget* w : {static_cast<QWidget*>(r.kind), static_cast<QWidget*>(r.start),
                               static_cast<QWidget*>(r.end)})
                w->setEnabled(on);
        };
        show(m_alpha, st.loss.alpha, st.loss.kd);
        show(m_temperature, st.loss.temperature, st.loss.kd);
        show(m_beta, st.loss.beta, st.loss.hidden);
        m_total->setText(
            tr("%1 stage(s), %2 steps in all").arg(rc.stages.size()).arg(totalSteps()));
    } catch (const dxl::Error& e) {
        m_total->setText(QString::fromStdString(e.what()));
    }
    if (m_tabs->currentIndex() == 1) m_json->setPlainText(QString::fromStdString(m_doc.dump(2)));
    m_refreshing = false;
}

void DistillConfigForm::editTop(const char* key, const nlohmann::json& value) {
    if (m_refreshing) return;
    m_doc[key] = value;
    refresh();
    emit changed();
}

nlohmann::json& DistillConfigForm::stageArray() {
    // Preset documents may lack a "stages" array (or have fewer entries): make one per stage.
    size_t n = 1;
    try {
        n = train::parse_run_config(m_doc, "run config").stages.size();
    } catch (const dxl::Error&) {
    }
    nlohmann::json& stages = m_doc["stages"];
    if (!stages.is_array()) stages = nlohmann::json::array();
    while (stages.size() < n)
        stages.push_back(nlohmann::json::object());
    return stages;
}

void DistillConfigForm::editStage(const std::function<void(nlohmann::json&)>& fn) {
    if (m_refreshing) return;
    nlohmann::json& stages = stageArray();
    const size_t i = static_cast<size_t>(std::max(0, m_stage->currentIndex()));
    if (i < stages.size()) fn(stages[i]);
    refresh();
    emit changed();
}

void DistillConfigForm::editSchedule(const char* key, const ScheduleRow& row) {
    editStage([&](nlohmann::json& s) {
        nlohmann::json& loss = s["loss"];
        if (!loss.is_object()) loss = nlohmann::json::object();
        train::Schedule sc;
        try {  // keep the decay / delta / total_steps already in the document
            if (loss.contains(key)) sc = train::parse_schedule(loss[key], key);
        } catch (const dxl::Error&) {
        }
        sc.kind = static_cast<train::ScheduleKind>(row.kind->currentIndex());
        sc.start = row.start->value();
        sc.end = sc.kind == train::ScheduleKind::Constant ? sc.start : row.end->value();
        loss[key] = train::to_json(sc);
    });
}

QString DistillConfigForm::validate() const {
    train::RunConfig rc;
    try {
        rc = train::parse_run_config(m_doc, "run config");
    } catch (const dxl::Error& e) {
        return QString::fromStdString(e.what());
    }
    if (!hasModel(rc.teacher))
        return tr("Teacher: %1 holds no config.json; choose a teacher model folder.")
            .arg(QString::fromStdString(rc.teacher));
    if (!rc.student.dir.empty() && !hasModel(rc.student.dir))
        return tr("Student: %1 holds no config.json; choose a student folder or leave it empty.")
            .arg(QString::fromStdString(rc.student.dir));
    if (rc.out_dir.empty()) return tr("Choose an output folder.");
    if (m_haveModels && m_models.teacher.dir == rc.teacher && m_models.teacher.context > 0 &&
        rc.data.seq_len > m_models.teacher.context)
        return tr("Data: T = %1 exceeds the teacher's context of %2 tokens; lower it.")
            .arg(rc.data.seq_len)
            .arg(m_models.teacher.context);
    return QString();
}

int64_t DistillConfigForm::totalSteps() const {
    try {
        const train::RunConfig rc = train::parse_run_config(m_doc, "run config");
        int64_t total = 0;
        for (const auto& s : rc.stages)
            total += s.steps > 0
                         ? s.steps
                         : (s.tokens + rc.batch_size * rc.grad_accum * rc.data.seq_len - 1) /
                               (rc.batch_size * rc.grad_accum * rc.data.seq_len);
        return total;
    } catch (const dxl::Error&) {
        return 0;
    }
}

void DistillConfigForm::setStepsPerStage(int64_t steps) {
    nlohmann::json& stages = stageArray();
    for (auto& s : stages) {
        s["steps"] = steps;
        s.erase("tokens");
    }
    refresh();
    emit changed();
}

void DistillConfigForm::setEvalAlignment(bool on) {
    m_doc["eval_alignment"] = on;
    refresh();
    emit changed();
}

void DistillConfigForm::setEvalEvery(int64_t steps) {
    m_doc["eval_every"] = steps;
    refresh();
    emit changed();
}

void DistillConfigForm::setOutDir(const QString& dir) {
    m_autoOut = false;
    m_doc["out_dir"] = dir.toStdString();
    refresh();
    emit changed();
}

QString DistillConfigForm::outDir() const {
    return QString::fromStdString(data::json_string_or(m_doc, "out_dir", ""));
}

void DistillConfigForm::renewOutDir() {
    if (!m_autoOut) return;
    const QString base = QDir::current().filePath(
        QStringLiteral("runs/studio_%1_%2")
            .arg(presetKey(),
                 QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd_hhmmss"))));
    QString dir = base;
    for (int i = 2; QFileInfo::exists(dir); ++i)
        dir = base + QStringLiteral("_%1").arg(i);
    m_out->setText(dir);
    m_doc["out_dir"] = dir.toStdString();
}

}  // namespace dxl::studio
