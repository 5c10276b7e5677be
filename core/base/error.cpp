// Error class helpers: kind names and the internal-assertion thrower.
#include "core/base/error.h"

namespace dxl {

const char* Error::kind_name() const noexcept {
    switch (m_kind) {
        case ErrorKind::Usage:
            return "usage error";
        case ErrorKind::Io:
            return "I/O error";
        case ErrorKind::Format:
            return "format error";
        case ErrorKind::Unsupported:
            return "unsupported";
        case ErrorKind::Shape:
            return "shape error";
        case ErrorKind::Value:
            return "value error";
        case ErrorKind::Cancelled:
            return "cancelled";
        case ErrorKind::Internal:
            return "internal error";
    }
    return "error";
}

UnsupportedVersion::UnsupportedVersion(const std::string& what, long long found, long long expected)
    : UnsupportedError(
          detail::str_cat(what, ": unsupported version ", found, ", expected ", expected,
                          "; re-create the file with this dxl version or upgrade dxl")),
      m_found(found),
      m_expected(expected) {}

namespace detail {
void throw_internal(const char* cond, const char* file, int line, const std::string& msg) {
    throw InternalError(
        str_cat("internal error: ", cond, " failed at ", file, ":", line, msg.empty() ? "" : " (",
                msg, msg.empty() ? "" : ")",
                "; this is a bug in dxl, please report it with the command you ran"));
}
}  // namespace detail

}  // namespace dxl
