// DropHandler: drag and drop onto the main window. A dropped model folder opens as the teacher
// or the student (by config.json "model_type": xlstm* is a student), a run folder (one holding
// run.dxlrec or run_config.json) is watched in the Distill dock, and a capture file (an HDF5 file:
// .h5/.hdf5 name or the HDF5 signature) is opened in the views. Installed as an event filter so
// MainWindow keeps no drop logic of its own.
#pragma once

#include <QObject>
#include <QString>

namespace dxl::studio {

enum class DropKind { Unknown, Teacher, Student, Run, Capture };
// What a dropped path is: a capture file (folder = the file), or a folder (a file inside a model
// or run folder counts as its folder).
DropKind classifyDrop(const QString& path, QString* folder = nullptr);

class DropHandler : public QObject {
    Q_OBJECT
  public:
    // Accepts drops on `target` (sets acceptDrops and installs itself as its event filter).
    explicit DropHandler(QWidget* target);

  signals:
    void modelDropped(const QString& folder, bool student);
    void runDropped(const QString& folder);
    void captureDropped(const QString& file);

  protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
};

}  // namespace dxl::studio
