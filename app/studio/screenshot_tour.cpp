// The screenshot tour: waits for the first complete results, then walks the pages and docks.
#include "app/studio/screenshot_tour.h"

#include <QAction>
#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QTabWidget>
#include <QTextStream>
#include <QTimer>
#include <functional>
#include <memory>

#include "app/studio/heads_dock.h"
#include "app/studio/lens_page.h"
#include "app/studio/main_window.h"
#include "app/studio/walkthrough.h"
#include "widgets/attention_heatmap.h"
#include "widgets/qcp.h"

namespace dxl::studio {

namespace {
constexpr int kMinShotColours = 64;  // a laid-out window with heatmaps has thousands
constexpr int kSettleMs = 600;       // coalesced relabelling and queued re-layouts
}  // namespace

void startScreenshotTour(MainWindow& w, const QString& dir, int timeoutMs) {
    struct State {
        int step = 0;
        bool started = false, done = false, waitingForLens = false;
        QStringList failures, written;
        std::function<void()> advance;
    };
    auto st = std::make_shared<State>();
    QDir().mkpath(dir);

    // Every attention map visible in the window has a readable size.
    auto checkMaps = [&w, st](const QString& shot) {
        for (auto* map : w.findChildren<widgets::AttentionHeatmap*>()) {
            if (!map->isVisible() || map->visibleRegion().isEmpty()) continue;
            const QRect r = map->plot()->axisRect()->rect();
            if (r.width() < kMinReadableMapSide || r.height() < kMinReadableMapSide)
                st->failures << QStringLiteral("%1: the map '%2' is squeezed to %3 x %4 px")
                                    .arg(shot, map->objectName())
                                    .arg(r.width())
                                    .arg(r.height());
        }
    };
    auto shoot = [dir, st, checkMaps](const QString& name, QWidget* what) {
        const QString path = QDir(dir).filePath(name);
        const QImage image = what->grab().toImage();
        const int colours = distinctColours(image, kMinShotColours);
        if (!image.save(path, "PNG"))
            st->failures << QStringLiteral("%1: could not be written").arg(path);
        else if (colours < kMinShotColours)
            st->failures
                << QStringLiteral("%1: looks blank (%2 distinct colours)").arg(path).arg(colours);
        else
            st->written << path;
        checkMaps(name);
    };
    auto finish = [st](int code) {
        if (st->done) return;
        st->done = true;
        for (const QString& f : st->failures)
            QTextStream(stderr) << "screenshots: FAILED " << f << "\n";
        if (code == 0 && !st->failures.isEmpty()) code = 1;
        QTextStream out(stdout);
        out << "screenshots: wrote " << st->written.size() << " files";
        for (const QString& p : st->written)
            out << "\n  " << p;
        out << "\n";
        QApplication::exit(code);
    };
    auto later = [&w, st](int ms) { QTimer::singleShot(ms, &w, [st] { st->advance(); }); };

    st->advance = [&w, st, shoot, finish, later] {
        QDockWidget* heads = qobject_cast<QDockWidget*>(w.headsDock()->parentWidget());
        switch (st->step++) {
            case 0:
                shoot(QStringLiteral("01_inspect.png"), &w);
                shoot(QStringLiteral("02_heads_dock.png"),
                      heads ? static_cast<QWidget*>(heads) : w.headsDock());
                w.tabs()->setCurrentIndex(1);
                later(kSettleMs);
                break;
            case 1:
                shoot(QStringLiteral("03_alignment.png"), &w);
                w.tabs()->setCurrentIndex(2);
                later(kSettleMs);
                break;
            case 2:
                shoot(QStringLiteral("04_recurrent_state.png"), &w);
                st->waitingForLens = true;  // computed when its page opens
                w.tabs()->setCurrentWidget(w.lensPage());
                break;
            case 3:
                shoot(QStringLiteral("04b_logit_lens.png"), &w);
                // Opened as a user does (View > Distill dock, Ctrl+4), at its own size.
                w.tabs()->setCurrentIndex(0);
                w.distillDockWidget()->toggleViewAction()->trigger();
                later(kSettleMs);
                break;
            case 4:
                shoot(QStringLiteral("05_inspect_distill_dock.png"), &w);
                w.tabs()->setCurrentIndex(1);
                later(kSettleMs);
                break;
            case 5:
                shoot(QStringLiteral("06_alignment_distill_dock.png"), &w);
                finish(0);
                break;
            default:
                break;
        }
    };
    QObject::connect(&w, &MainWindow::resultsCompleted, &w, [st, later] {
        if (st->started) return;
        st->started = true;
        later(kSettleMs);
    });
    QObject::connect(&w, &MainWindow::lensShown, &w, [st, later] {
        if (!st->waitingForLens) return;
        st->waitingForLens = false;
        later(kSettleMs);
    });
    installTourGuards(
        w, timeoutMs,
        [st, finish](const QString& why, int code) {
            st->failures << why;
            finish(code);
        },
        [st] { return st->step; });
    QTextStream(stdout) << "screenshots: into " << dir << "\n";
}

}  // namespace dxl::studio
