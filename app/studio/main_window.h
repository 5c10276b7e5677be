// MainWindow: composes the pages (Inspect, Alignment, Recurrent state), the capture bar, the
// Heads dock and the Distill dock, owns the compute thread, keeps the current selection, and
// handles the File menu (open models or a capture file, recent files, export figure / all
// figures, session save/restore) and error dialogs. It holds
// no view logic of its own (no god window: docs/conventions.md#studio-code).
#pragma once

#include <QJsonObject>
#include <QMainWindow>
#include <QThread>
#include <string>

#include "app/studio/studio_types.h"

class QTabWidget;
class QLabel;
class QDockWidget;

namespace dxl::widgets {
class ExportableFigure;
struct ExportOptions;
}  // namespace dxl::widgets

class QComboBox;

namespace dxl::studio {

class AttentionPage;
class AlignmentPage;
class StatePage;
class LensPage;
class HeadsDock;
class DistillDock;
class CaptureBar;
class ComputeWorker;

// The display filter as JSON {"threshold", "top_k", "drop_sink"} for sessions and provenance
// (main_window_session.cpp).
QJsonObject mapFilterJson(const MapFilter& f);
MapFilter mapFilterFromJson(const QJsonObject& o);
struct Selection;
// The `dxl align` flags that reproduce the linked maps of s (core/analysis/display_options.h).
std::string displayFlags(const Selection& s);

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Loads the models and runs `input` once they are loaded.
    void openModels(const QString& teacherDir, const QString& studentDir, const QString& input);
    // Opens a capture file (dxl capture) and shows its first sample in every view; the capture
    // bar then selects the sample. Errors (damaged, foreign, newer schema) open a dialog.
    void openCapture(const QString& path);
    // True while the views show a capture file's sample (not the loaded models).
    bool captureMode() const { return m_captureMode; }
    CaptureBar* captureBar() const { return m_captureBar; }
    // Exports every figure into dir (PNG/PDF/SVG/CSV/JSON + provenance). Returns the files.
    // Every figure into dir; names carry "_sampleN" while a capture is shown. Existing files are
    // an error unless overwrite (the dialogs ask first; --export all needs --force).
    QStringList exportAllFigures(const QString& dir, QString* error = nullptr,
                                 bool overwrite = false);
    QList<widgets::ExportableFigure*> figures() const;
    // What every export records beside its data: models, input, normalisation, display filter,
    // map mode, layer map and the session.
    QJsonObject provenance() const;
    // True once maps, alignment and state for the current input have arrived.
    bool resultsComplete() const { return m_received == 0x7; }

    QJsonObject sessionJson() const;
    void restoreSession(const QJsonObject& session);
    bool saveSession(const QString& path);
    bool loadSession(const QString& path);

    AttentionPage* attentionPage() const { return m_attention; }
    AlignmentPage* alignmentPage() const { return m_alignmentPage; }
    StatePage* statePage() const { return m_state; }
    LensPage* lensPage() const { return m_lens; }
    HeadsDock* headsDock() const { return m_heads; }
    DistillDock* distillDock() const { return m_distill; }
    QDockWidget* distillDockWidget() const { return m_distillDockWidget; }
    // Shows the Distill dock, giving it `height` pixels of the window (0: keep its size).
    void showDistillDock(int height = 0);
    QTabWidget* tabs() const { return m_tabs; }
    // Last error shown (dialogs are suppressed when headless).
    QString lastError() const { return m_lastError; }
    void setHeadless(bool headless);
    // Where the models run ("auto", "cpu", "cuda:N"); reloads open models on a change.
    void setDevice(const QString& device);
    QString device() const;

  signals:
    void resultsCompleted();
    // New maps are on screen (after every selection change that reached the worker).
    void mapsShown();
    void errorShown(const QString& message);
    // Queued requests to the worker (never direct calls across threads).
    void loadRequested(const QString& teacherDir, const QString& studentDir);
    void runRequested(const QString& input, int norm);
    void mapsRequested(const dxl::studio::MapsRequest& request, quint64 job);
    void alignmentRequested(const QString& metric, int norm, const dxl::studio::LayerMapSpec& map);
    void captureOpenRequested(const QString& path, int norm);
    void captureSampleRequested(int sample, int norm);
    void stateRequested(int block, int head, int t, const QString& quantity, quint64 job);
    void lensRequested();
    void lensShown();

  private:
    void buildMenus();
    void onModelsLoaded(const ModelsLoaded& models);
    void onCaptureOpened(const CaptureOpened& capture);
    void leaveCapture();
    void setPageModels(const ModelsLoaded& models);
    const ModelsLoaded& modelDirs() const;
    void openCaptureDialog();
    void onInspectReady(const InspectSummary& summary);
    void onMapsReady(const MapsResult& maps, quint64 job);
    void onStateReady(const StateResult& state, quint64 job);
    void showMatchScores(const AlignmentResult& result);
    void onFailed(const ErrorInfo& error);
    void requestMaps();
    void requestAlignment();
    void requestState();
    void requestLensIfShown();  // the lens is computed only while its page is open
    void rerun();
    void openModelDialog();
    void exportCurrentFigure();
    void exportAllDialog();
    void addRecent(const QString& entry);
    void rebuildRecentMenu();
    void markReceived(int bit);
    widgets::ExportOptions exportOptions(bool overwrite) const;
    bool confirmReplace(const QStringList& existing);  // true: nothing to replace, or confirmed

    QThread m_thread;
    ComputeWorker* m_worker = nullptr;
    QTabWidget* m_tabs = nullptr;
    AttentionPage* m_attention = nullptr;
    AlignmentPage* m_alignmentPage = nullptr;
    StatePage* m_state = nullptr;
    LensPage* m_lens = nullptr;
    bool m_lensStale = true;
    HeadsDock* m_heads = nullptr;
    DistillDock* m_distill = nullptr;
    QDockWidget* m_distillDockWidget = nullptr;
    CaptureBar* m_captureBar = nullptr;
    QLabel* m_status = nullptr;
    QComboBox* m_device = nullptr;  // status bar: auto / cpu / cuda:N
    QString m_statusText;           // shown when the worker is idle
    QMenu* m_recentMenu = nullptr;
    ModelsLoaded m_models;        // of what the views show (the capture's while in capture mode)
    ModelsLoaded m_loadedModels;  // loaded in the compute worker
    bool m_captureMode = false;
    InspectSummary m_summary;
    QString m_pendingInput;
    quint64 m_mapsJob = 0, m_stateJob = 0;
    int m_received = 0;
    bool m_headless = false;
    QString m_lastError;
    QJsonObject m_pendingSession;
};

}  // namespace dxl::studio
