// dxl_base: typed errors and the check/assert macros.
#include <gtest/gtest.h>

#include "core/base/cancel.h"
#include "core/base/error.h"
#include "core/base/log.h"

namespace {

TEST(Error, CheckThrowsTypedErrorWithMessage) {
    try {
        DXL_CHECK(1 + 1 == 3, dxl::ShapeError, "op: expected ", 3, ", but got ", 2);
        FAIL() << "no throw";
    } catch (const dxl::ShapeError& e) {
        EXPECT_EQ(e.kind(), dxl::ErrorKind::Shape);
        EXPECT_STREQ(e.what(), "op: expected 3, but got 2");
        EXPECT_STREQ(e.kind_name(), "shape error");
    }
}

TEST(Error, CheckPassesSilently) {
    EXPECT_NO_THROW(DXL_CHECK(true, dxl::ValueError, "never"));
}

TEST(Error, AssertIsInternalAndAsksForABugReport) {
    try {
        DXL_ASSERT(false, "state ", 7);
        FAIL() << "no throw";
    } catch (const dxl::InternalError& e) {
        std::string m = e.what();
        EXPECT_NE(m.find("state 7"), std::string::npos);
        EXPECT_NE(m.find("bug"), std::string::npos);
        EXPECT_EQ(static_cast<int>(e.kind()), 70);
    }
}

TEST(Error, UnsupportedVersionCarriesNumbers) {
    dxl::UnsupportedVersion v("run.h5", 3, 1);
    EXPECT_EQ(v.found(), 3);
    EXPECT_EQ(v.expected(), 1);
    EXPECT_NE(std::string(v.what()).find("unsupported version 3, expected 1"), std::string::npos);
}

TEST(Cancel, TokenThrowsOnlyAfterCancel) {
    dxl::CancelToken t;
    EXPECT_NO_THROW(t.throw_if_cancelled("x"));
    t.cancel();
    EXPECT_THROW(t.throw_if_cancelled("x"), dxl::CancelledError);
}

TEST(Log, SinkReceivesMessagesAboveLevel) {
    std::vector<std::string> got;
    dxl::set_log_sink([&](dxl::LogLevel, const std::string& m) { got.push_back(m); });
    dxl::set_log_level(dxl::LogLevel::Info);
    dxl::log_debug("hidden");
    dxl::log_info("shown");
    dxl::set_log_sink(nullptr);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], "shown");
}

}  // namespace
