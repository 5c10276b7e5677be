// Helpers shared by the teacher tests: a recording capture sink, model loading from the golden
// files and exception-message checks.
#pragma once

#include <gtest/gtest.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/capture/capture_sink.h"

namespace dxl::test {

// Keeps a copy of every observed tensor whose point is in `points`, by CaptureKey::path().
class RecordingSink : public capture::CaptureSink {
  public:
    explicit RecordingSink(std::set<std::string> points) : m_points(std::move(points)) {}
    bool wants(const capture::CaptureKey& key) override { return m_points.count(key.point) > 0; }
    bool observe(const capture::CaptureKey& key, const torch::Tensor& value) override {
        seen[key.path()] = value.clone();
        return true;
    }
    std::map<std::string, torch::Tensor> seen;  // "teacher/layer_00/attn_probs" -> tensor

  private:
    std::set<std::string> m_points;
};

// Runs f, expects an exception of type E whose message contains every part.
template <typename E>
void expect_throw_with(const std::function<void()>& f, const std::vector<std::string>& parts) {
    try {
        f();
        ADD_FAILURE() << "expected an exception, none was thrown";
    } catch (const E& e) {
        const std::string msg = e.what();
        for (const auto& p : parts)
            EXPECT_NE(msg.find(p), std::string::npos) << "'" << p << "' not in: " << msg;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type: " << e.what();
    }
}

}  // namespace dxl::test
