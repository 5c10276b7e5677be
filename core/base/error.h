// Typed errors for the whole project and the DXL_CHECK / DXL_ASSERT macros.
//
// Two failure classes, both exceptions (docs/conventions.md#errors): bad input or a bad file throws
// a typed
// dxl::Error subclass whose message says what was expected, what was found and what to try; a
// broken invariant (DXL_ASSERT) throws dxl::InternalError with "please report a bug" wording.
// Library code never calls exit() or abort() on bad input; the CLI maps types to exit codes.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace dxl {

// Exit codes the CLI uses for each error class (documented in docs/cli.md).
enum class ErrorKind {
    Usage = 2,        // wrong command-line usage
    Io = 3,           // a file or directory is missing, unreadable or unwritable
    Format = 4,       // a file exists but its content is invalid (corrupt safetensors, bad JSON)
    Unsupported = 5,  // valid but not supported (unknown architecture, dtype, schema version)
    Shape = 6,        // tensor shapes or sizes do not fit
    Value = 7,        // an input value is out of range (token id >= vocab, sequence too long, NaN)
    Cancelled = 8,    // the user or a sink cancelled the run
    Internal = 70,    // a broken invariant: a bug in dxl
};

class Error : public std::runtime_error {
  public:
    Error(ErrorKind kind, const std::string& message) : std::runtime_error(message), m_kind(kind) {}
    ErrorKind kind() const noexcept { return m_kind; }
    const char* kind_name() const noexcept;

  private:
    ErrorKind m_kind;
};

class UsageError : public Error {
  public:
    explicit UsageError(const std::string& m) : Error(ErrorKind::Usage, m) {}
};
class IoError : public Error {
  public:
    explicit IoError(const std::string& m) : Error(ErrorKind::Io, m) {}
};
class FormatError : public Error {
  public:
    explicit FormatError(const std::string& m) : Error(ErrorKind::Format, m) {}
};
class UnsupportedError : public Error {
  public:
    explicit UnsupportedError(const std::string& m) : Error(ErrorKind::Unsupported, m) {}
};
class UnsupportedVersion : public UnsupportedError {
  public:
    UnsupportedVersion(const std::string& what, long long found, long long expected);
    long long found() const noexcept { return m_found; }
    long long expected() const noexcept { return m_expected; }

  private:
    long long m_found;
    long long m_expected;
};
class ShapeError : public Error {
  public:
    explicit ShapeError(const std::string& m) : Error(ErrorKind::Shape, m) {}
};
class ValueError : public Error {
  public:
    explicit ValueError(const std::string& m) : Error(ErrorKind::Value, m) {}
};
class CancelledError : public Error {
  public:
    explicit CancelledError(const std::string& m) : Error(ErrorKind::Cancelled, m) {}
};
class InternalError : public Error {
  public:
    explicit InternalError(const std::string& m) : Error(ErrorKind::Internal, m) {}
};

namespace detail {
// Concatenates any streamable arguments into one message.
template <typename... Args>
std::string str_cat(const Args&... args) {
    std::ostringstream os;
    (os << ... << args);
    return os.str();
}
[[noreturn]] void throw_internal(const char* cond, const char* file, int line,
                                 const std::string& msg);
}  // namespace detail

}  // namespace dxl

// DXL_CHECK(cond, ErrorType, msg...): validate input at the door; throws ErrorType(msg).
// Message style: "op: expected X, but got Y; try Z".
#define DXL_CHECK(cond, ErrorType, ...)                                    \
    do {                                                                   \
        if (!(cond)) throw ErrorType(::dxl::detail::str_cat(__VA_ARGS__)); \
    } while (0)

// DXL_ASSERT(cond[, msg...]): an internal invariant; failing it is a bug in dxl.
#define DXL_ASSERT(...) DXL_ASSERT_IMPL_(__VA_ARGS__, "")
#define DXL_ASSERT_IMPL_(cond, ...)                                             \
    do {                                                                        \
        if (!(cond))                                                            \
            ::dxl::detail::throw_internal(#cond, __FILE__, __LINE__,            \
                                          ::dxl::detail::str_cat(__VA_ARGS__)); \
    } while (0)
