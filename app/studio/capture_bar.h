// CaptureBar: the strip above the pages while a capture file is shown: which file, its status
// and models, the sample selector (files with several samples) and "Back to models". It only
// reports choices; MainWindow asks the compute worker for the sample.
#pragma once

#include <QWidget>

#include "app/studio/studio_types.h"

class QLabel;
class QSpinBox;
class QPushButton;

namespace dxl::studio {

class CaptureBar : public QWidget {
    Q_OBJECT
  public:
    explicit CaptureBar(QWidget* parent = nullptr);
    // Shows the bar for `capture` on sample 0 (without emitting sampleChosen).
    void setCapture(const CaptureOpened& capture);
    void setSample(int sample);  // without emitting sampleChosen
    int sample() const;
    int sampleCount() const { return m_capture.samples; }
    QString path() const { return QString::fromStdString(m_capture.path); }
    QSpinBox* sampleSpin() const { return m_sample; }

  signals:
    void sampleChosen(int sample);
    void closeRequested();

  private:
    void updateLength();
    CaptureOpened m_capture;
    QLabel *m_file = nullptr, *m_length = nullptr;
    QSpinBox* m_sample = nullptr;
    QPushButton* m_close = nullptr;
};

}  // namespace dxl::studio
