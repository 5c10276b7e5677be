// Token text as every view shows it: whitespace and control bytes made visible ("␣", \n, \t,
// \x01), so a space, newline or control token is never an empty label, chip, axis tick or table
// cell, nor a missing-glyph box.
#pragma once

#include <QString>
#include <string>

namespace dxl::widgets {

inline QString visibleTokenText(const std::string& label) {
    QString text = QString::fromStdString(label);
    text.replace(QLatin1Char('\n'), QStringLiteral("\\n"));
    text.replace(QLatin1Char('\r'), QStringLiteral("\\r"));
    text.replace(QLatin1Char('\t'), QStringLiteral("\\t"));
    text.replace(QLatin1Char(' '), QChar(0x2423));
    QString out;
    out.reserve(text.size());
    for (const QChar c : text) {
        if (c.unicode() < 0x20 || c.unicode() == 0x7f)
            out += QStringLiteral("\\x%1").arg(c.unicode(), 2, 16, QLatin1Char('0'));
        else
            out += c;
    }
    return out;
}

}  // namespace dxl::widgets
