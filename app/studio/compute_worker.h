// ComputeWorker: a QObject moved to its own QThread that owns the InspectEngine (and so the
// models). Slots are invoked through queued connections from the GUI; results and typed errors
// come back as value types in queued signals. The GUI thread never calls torch
// (docs/architecture.md#threads).
#pragma once

#include <QMetaType>
#include <QObject>
#include <QString>
#include <QStringList>
#include <memory>
#include <vector>

#include "app/studio/lens_types.h"
#include "app/studio/studio_types.h"

namespace dxl::studio {

class InspectEngine;

class ComputeWorker : public QObject {
    Q_OBJECT
  public:
    ComputeWorker();
    ~ComputeWorker() override;
    static void registerTypes();

  public slots:
    void loadModels(const QString& teacherDir, const QString& studentDir);
    // The device later loads use ("auto", "cpu", "cuda:N"); answers with devicesListed.
    void setDevice(const QString& device);
    // Lists the compute devices this build sees (devicesListed).
    void listDevices();
    // input: comma/space separated ids, or text when the teacher has a tokenizer.
    void runInput(const QString& input, int norm);
    void requestMaps(const dxl::studio::MapsRequest& request, quint64 job);
    void requestAlignment(const QString& metric, int norm, const dxl::studio::LayerMapSpec& map);
    void requestState(int block, int head, int t, const QString& quantity, quint64 job);
    // Opens a capture file and shows its first sample (captureOpened, then inspectReady).
    void openCapture(const QString& path, int norm);
    void requestCaptureSample(int sample, int norm);
    void requestLens();

  signals:
    void modelsLoaded(const dxl::studio::ModelsLoaded& models);
    void inspectReady(const dxl::studio::InspectSummary& summary);
    void mapsReady(const dxl::studio::MapsResult& maps, quint64 job);
    void alignmentReady(const dxl::studio::AlignmentResult& result);
    void stateReady(const dxl::studio::StateResult& state, quint64 job);
    void captureOpened(const dxl::studio::CaptureOpened& capture);
    void lensReady(const dxl::studio::LensResult& lens);
    void failed(const dxl::studio::ErrorInfo& error);
    void busyChanged(bool busy);
    void devicesListed(const QStringList& devices);

  private:
    template <typename Fn>
    void guarded(const char* action, Fn&& fn);
    std::unique_ptr<InspectEngine> m_engine;
    QString m_device = QStringLiteral("auto");
};

// Parses "37,0,93" / "37 0 93" into ids; false when the text is not a list of integers.
bool parseTokenIds(const QString& input, std::vector<int64_t>* ids);

}  // namespace dxl::studio

Q_DECLARE_METATYPE(dxl::studio::ModelsLoaded)
Q_DECLARE_METATYPE(dxl::studio::InspectSummary)
Q_DECLARE_METATYPE(dxl::studio::MapsRequest)
Q_DECLARE_METATYPE(dxl::studio::MapsResult)
Q_DECLARE_METATYPE(dxl::studio::AlignmentResult)
Q_DECLARE_METATYPE(dxl::studio::StateResult)
Q_DECLARE_METATYPE(dxl::studio::ErrorInfo)
Q_DECLARE_METATYPE(dxl::studio::CaptureOpened)
Q_DECLARE_METATYPE(dxl::studio::LayerMapSpec)
Q_DECLARE_METATYPE(dxl::studio::LensResult)
