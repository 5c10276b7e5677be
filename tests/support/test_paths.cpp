// Test data and scratch paths.
#include "tests/support/test_paths.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

namespace dxl::test {
namespace {
std::mutex g_mutex;
std::vector<std::string> g_dirs;  // guarded by g_mutex
struct Cleanup {
    ~Cleanup() {
        if (std::getenv("DXL_KEEP_SCRATCH")) return;
        std::error_code ec;
        for (const auto& d : g_dirs)
            std::filesystem::remove_all(d, ec);
    }
} g_cleanup;
}  // namespace

std::string data_path(const std::string& rel) {
    return std::string(DXL_TEST_DATA_DIR) + "/" + rel;
}

std::string binary_dir() {
    return DXL_BINARY_DIR;
}

std::string scratch_dir(const std::string& tag) {
    static std::atomic<int> counter{0};
    namespace fs = std::filesystem;
    fs::path p = fs::temp_directory_path() / ("dxl_test_" + tag + "_" + std::to_string(::getpid()) +
                                              "_" + std::to_string(counter++));
    fs::remove_all(p);
    fs::create_directories(p);
    std::lock_guard<std::mutex> lock(g_mutex);
    g_dirs.push_back(p.string());
    return p.string();
}

}  // namespace dxl::test
