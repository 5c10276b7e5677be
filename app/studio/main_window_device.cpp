// MainWindow: where the models run (the status-bar device selector and --device).
#include <QComboBox>

#include "app/studio/attention_page.h"
#include "app/studio/compute_worker.h"
#include "app/studio/main_window.h"

namespace dxl::studio {

void MainWindow::setDevice(const QString& device) {
    if (m_device->findText(device) < 0) m_device->addItem(device);
    m_device->setCurrentText(device);
    QMetaObject::invokeMethod(
        m_worker, [w = m_worker, device] { w->setDevice(device); }, Qt::QueuedConnection);
    const ModelsLoaded& dirs = modelDirs();
    if (!dirs.teacher.dir.empty() && !dirs.student.dir.empty())
        openModels(QString::fromStdString(dirs.teacher.dir),
                   QString::fromStdString(dirs.student.dir), m_attention->input());
}

QString MainWindow::device() const {
    return m_device->currentText();
}

}  // namespace dxl::studio
