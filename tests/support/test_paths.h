// Paths to test data and scratch space for all test executables.
#pragma once

#include <string>

namespace dxl::test {

// Absolute path of tests/data/<rel>.
std::string data_path(const std::string& rel);
// Absolute path of the build tree (for finding built executables such as dxl).
std::string binary_dir();
// A fresh, empty directory under the system temp dir, unique per call; removed at exit.
std::string scratch_dir(const std::string& tag);

}  // namespace dxl::test
