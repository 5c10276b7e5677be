// Progress callback and cancel token that core functions take (docs/architecture.md#threads). Only
// app/studio
// turns them into Qt signals.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "core/base/error.h"

namespace dxl {

// fraction in [0, 1]; message is a short status line.
using ProgressFn = std::function<void(double fraction, const std::string& message)>;

class CancelToken {
  public:
    void cancel() noexcept { m_cancelled.store(true, std::memory_order_relaxed); }
    bool cancelled() const noexcept { return m_cancelled.load(std::memory_order_relaxed); }
    // Throws CancelledError when cancelled; call at safe points.
    void throw_if_cancelled(const char* where) const {
        if (cancelled()) throw CancelledError(std::string(where) + ": cancelled");
    }

  private:
    std::atomic<bool> m_cancelled{false};
};

}  // namespace dxl
