// DropHandler: classify dropped folders and forward them as signals.
#include "app/studio/drop_handler.h"

#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QMimeData>
#include <QUrl>
#include <QWidget>

namespace dxl::studio {

DropKind classifyDrop(const QString& path, QString* folder) {
    QFileInfo info(path);
    if (info.isFile()) {
        const QString suffix = info.suffix().toLower();
        bool hdf5 = suffix == QStringLiteral("h5") || suffix == QStringLiteral("hdf5");
        if (QFile f(info.absoluteFilePath()); !hdf5 && f.open(QIODevice::ReadOnly))
            hdf5 = f.read(8) == QByteArray("\x89HDF\r\n\x1a\n", 8);
        if (hdf5) {  // a damaged one too: opening it gives the specific error
            if (folder) *folder = info.absoluteFilePath();
            return DropKind::Capture;
        }
    }
    const QString dir = info.isDir() ? info.absoluteFilePath() : info.absolutePath();
    if (folder) *folder = QDir::cleanPath(dir);
    const QDir d(dir);
    if (d.exists(QStringLiteral("run.dxlrec")) || d.exists(QStringLiteral("run_config.json")))
        return DropKind::Run;
    QFile f(d.filePath(QStringLiteral("config.json")));
    if (!f.open(QIODevice::ReadOnly)) return DropKind::Unknown;
    const QJsonObject o = QJsonDocument::fromJson(f.readAll()).object();
    const QString type = o.value(QStringLiteral("model_type")).toString();
    if (type.isEmpty()) return DropKind::Unknown;
    return type.startsWith(QStringLiteral("xlstm")) ? DropKind::Student : DropKind::Teacher;
}

DropHandler::DropHandler(QWidget* target) : QObject(target) {
    target->setAcceptDrops(true);
    target->installEventFilter(this);
}

bool DropHandler::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::DragEnter) {
        auto* e = static_cast<QDragEnterEvent*>(event);
        for (const QUrl& url : e->mimeData()->urls()) {
            if (url.isLocalFile() && classifyDrop(url.toLocalFile()) != DropKind::Unknown) {
                e->acceptProposedAction();
                return true;
            }
        }
        return false;
    }
    if (event->type() == QEvent::Drop) {
        auto* e = static_cast<QDropEvent*>(event);
        for (const QUrl& url : e->mimeData()->urls()) {
            if (!url.isLocalFile()) continue;
            QString folder;
            switch (classifyDrop(url.toLocalFile(), &folder)) {
                case DropKind::Teacher:
                    emit modelDropped(folder, false);
                    break;
                case DropKind::Student:
                    emit modelDropped(folder, true);
                    break;
                case DropKind::Run:
                    emit runDropped(folder);
                    break;
                case DropKind::Capture:
                    emit captureDropped(folder);
                    break;
                case DropKind::Unknown:
                    break;
            }
        }
        e->acceptProposedAction();
        return true;
    }
    return QObject::eventFilter(watched, event);
}

}  // namespace dxl::studio
