// The scripted walkthrough (dxl-studio --walkthrough DIR): start on the defaults -> switch heads
// -> rollout with a display filter and chips coloured by attention received (then back to
// single heads, no filter) -> open the alignment matrix -> open a Hungarian-matched pair from it ->
// recurrent state -> logit lens -> a 20-step distillation in the Distill dock (docked and floated
// screenshots) -> its final checkpoint as the student ("show maps") -> export all figures -> with a
// capture file: open it, show its second sample, and align it under the ratio layer map. Each step
// waits for the worker's results, saves a screenshot into DIR and checks that it is not blank; the
// exported files are checked too (PNG decodes and is not blank, PDF/SVG/JSON/CSV well-formed). Used
// by the tests/studio ctest and for docs/screenshots.
#pragma once

#include <QImage>
#include <QString>
#include <QStringList>
#include <functional>

namespace dxl::studio {

class MainWindow;

// Number of distinct colours in image, counting up to `cap` (then returns cap).
int distinctColours(const QImage& image, int cap = 4096);

// Checks one exported file by its extension; false and *why when it is missing or invalid.
bool checkExportedFile(const QString& path, QString* why);

// For scripted tours: a core error shown by w fails the tour with code 1, and still running after
// timeoutMs fails it with code 5 ("timed out at step N", N from `step`). `fail` records the
// message and ends the tour with the code.
void installTourGuards(MainWindow& w, int timeoutMs,
                       const std::function<void(const QString& why, int code)>& fail,
                       const std::function<int()>& step);

// Installs the tour on w (call before the models are opened). The application exits with 0 when
// every step and check passed, 1 on a failed check or a core error, 5 on a time-out.
void startWalkthrough(MainWindow& w, const QString& dir, int timeoutMs = 180000,
                      const QString& capture = QString());

}  // namespace dxl::studio
