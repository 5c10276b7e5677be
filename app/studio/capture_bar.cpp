// CaptureBar.
#include "app/studio/capture_bar.h"

#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSpinBox>

namespace dxl::studio {

CaptureBar::CaptureBar(QWidget* parent) : QWidget(parent) {
    setObjectName(QStringLiteral("captureBar"));
    auto* row = new QHBoxLayout(this);
    row->setContentsMargins(6, 2, 6, 2);
    m_file = new QLabel(this);
    m_file->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_file->setWordWrap(true);  // a long description must not widen the window past the docks
    m_file->setMinimumWidth(120);
    m_file->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_sample = new QSpinBox(this);
    m_sample->setObjectName(QStringLiteral("captureSample"));
    m_sample->setKeyboardTracking(false);
    m_sample->setToolTip(tr("Stored sample shown in every view (PgUp/PgDn)"));
    m_length = new QLabel(this);
    m_close = new QPushButton(tr("Back to models"), this);
    m_close->setToolTip(tr("Close the capture and show the loaded models on the input line"));
    row->addWidget(m_file, 1);
    row->addWidget(new QLabel(tr("Sample"), this));
    row->addWidget(m_sample);
    row->addWidget(m_length);
    row->addWidget(m_close);
    connect(m_sample, &QSpinBox::valueChanged, this, [this](int s) {
        updateLength();
        emit sampleChosen(s);
    });
    connect(m_close, &QPushButton::clicked, this, &CaptureBar::closeRequested);
    hide();
}

void CaptureBar::setCapture(const CaptureOpened& capture) {
    m_capture = capture;
    const QString name = QFileInfo(QString::fromStdString(capture.path)).fileName();
    m_file->setText(tr("Capture <b>%1</b> (%2; teacher %3, student %4): stored teacher attention, "
                       "student implicit attention rebuilt from the stored q, k and gates")
                        .arg(name.toHtmlEscaped(),
                             QString::fromStdString(capture.status).toHtmlEscaped(),
                             QString::fromStdString(capture.models.teacher.architecture),
                             QString::fromStdString(capture.models.student.architecture)));
    m_file->setToolTip(QString::fromStdString(capture.path));
    {
        const QSignalBlocker block(m_sample);
        m_sample->setRange(0, std::max(0, capture.samples - 1));
        m_sample->setSuffix(tr(" (of %1)").arg(capture.samples));
        m_sample->setValue(0);
    }
    m_sample->setEnabled(capture.samples > 1);
    updateLength();
    show();
}

void CaptureBar::setSample(int sample) {
    const QSignalBlocker block(m_sample);
    m_sample->setValue(sample);
    updateLength();
}

int CaptureBar::sample() const {
    return m_sample->value();
}

void CaptureBar::updateLength() {
    const auto s = static_cast<size_t>(m_sample->value());
    m_length->setText(s < m_capture.sampleLengths.size()
                          ? tr("%1 tokens").arg(m_capture.sampleLengths[s])
                          : QString());
}

}  // namespace dxl::studio
