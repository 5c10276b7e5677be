// ComputeWorker: queued slots around InspectEngine, with every dxl::Error turned into ErrorInfo.
#include "app/studio/compute_worker.h"

#include <QCoreApplication>
#include <QRegularExpression>
#include <QThread>
#include <exception>

#include "app/studio/inspect_engine.h"
#include "core/base/error.h"

namespace dxl::studio {

ComputeWorker::ComputeWorker() : m_engine(std::make_unique<InspectEngine>()) {}
ComputeWorker::~ComputeWorker() = default;

void ComputeWorker::registerTypes() {
    qRegisterMetaType<dxl::studio::ModelsLoaded>();
    qRegisterMetaType<dxl::studio::InspectSummary>();
    qRegisterMetaType<dxl::studio::MapsRequest>();
    qRegisterMetaType<dxl::studio::MapsResult>();
    qRegisterMetaType<dxl::studio::AlignmentResult>();
    qRegisterMetaType<dxl::studio::StateResult>();
    qRegisterMetaType<dxl::studio::ErrorInfo>();
    qRegisterMetaType<dxl::studio::CaptureOpened>();
    qRegisterMetaType<dxl::studio::LayerMapSpec>();
    qRegisterMetaType<dxl::studio::LensResult>();
}

bool parseTokenIds(const QString& input, std::vector<int64_t>* ids) {
    const QStringList parts =
        input.split(QRegularExpression(QStringLiteral("[,\\s]+")), Qt::SkipEmptyParts);
    if (parts.isEmpty()) return false;
    std::vector<int64_t> out;
    for (const QString& p : parts) {
        bool ok = false;
        const qlonglong v = p.toLongLong(&ok);
        if (!ok) return false;
        out.push_back(v);
    }
    *ids = std::move(out);
    return true;
}

template <typename Fn>
void ComputeWorker::guarded(const char* action, Fn&& fn) {
    ErrorInfo e;
    e.action = action;
    if (QThread::currentThread() == QCoreApplication::instance()->thread()) {
        // docs/architecture.md#threads: torch never runs on the GUI thread; refuse instead of
        // blocking.
        e.kind = static_cast<int>(dxl::ErrorKind::Internal);
        e.kindName = "InternalError";
        e.message = "studio: the compute worker was called on the GUI thread; this is a bug";
        emit failed(e);
        return;
    }
    emit busyChanged(true);
    try {
        fn();
        emit busyChanged(false);
        return;
    } catch (const dxl::Error& err) {
        e.kind = static_cast<int>(err.kind());
        e.kindName = err.kind_name();
        e.message = err.what();
    } catch (const std::bad_alloc&) {
        e.kindName = "OutOfMemory";
        e.message = "out of memory; try a shorter input or smaller models";
    } catch (const std::exception& err) {  // torch's c10::Error and friends
        e.kindName = "Exception";
        e.message = err.what();
        // c10::Error appends the C++ stack ("Exception raised from ... frame #0: ..."): a user
        // needs the message, not the frames.
        const auto cut = e.message.find("\nException raised from ");
        if (cut != std::string::npos) e.message.resize(cut);
    }
    emit busyChanged(false);
    emit failed(e);
}

void ComputeWorker::loadModels(const QString& teacherDir, const QString& studentDir) {
    guarded("loading the models", [&] {
        emit modelsLoaded(m_engine->load(teacherDir.toStdString(), studentDir.toStdString(),
                                         m_device.toStdString()));
    });
}

void ComputeWorker::setDevice(const QString& device) {
    m_device = device;
}

void ComputeWorker::listDevices() {
    QStringList names;
    for (const std::string& d : InspectEngine::deviceChoices())
        names << QString::fromStdString(d);
    emit devicesListed(names);
}

void ComputeWorker::runInput(const QString& input, int norm) {
    guarded("running the models on the input", [&] {
        std::vector<int64_t> ids;
        if (!parseTokenIds(input, &ids)) ids = m_engine->tokenize(input.toStdString());
        emit inspectReady(m_engine->run(ids, static_cast<StudentNorm>(norm)));
    });
}

void ComputeWorker::requestMaps(const MapsRequest& request, quint64 job) {
    guarded("computing the attention maps", [&] { emit mapsReady(m_engine->maps(request), job); });
}

void ComputeWorker::requestAlignment(const QString& metric, int norm, const LayerMapSpec& map) {
    guarded("computing the alignment matrix", [&] {
        emit alignmentReady(
            m_engine->alignment(metric.toStdString(), static_cast<StudentNorm>(norm), map));
    });
}

void ComputeWorker::openCapture(const QString& path, int norm) {
    guarded("opening the capture file", [&] {
        CaptureOpened c = m_engine->openCapture(path.toStdString());
        InspectSummary first = m_engine->captureSample(0, static_cast<StudentNorm>(norm));
        emit captureOpened(c);
        emit inspectReady(first);
    });
}

void ComputeWorker::requestCaptureSample(int sample, int norm) {
    guarded("reading the capture sample", [&] {
        emit inspectReady(m_engine->captureSample(sample, static_cast<StudentNorm>(norm)));
    });
}

void ComputeWorker::requestLens() {
    guarded("computing the logit lens", [&] { emit lensReady(m_engine->lens()); });
}

void ComputeWorker::requestState(int block, int head, int t, const QString& quantity, quint64 job) {
    guarded("computing the recurrent state",
            [&] { emit stateReady(m_engine->state(block, head, t, quantity.toStdString()), job); });
}

}  // namespace dxl::studio
