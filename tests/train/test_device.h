// The device the training tests run on: DXL_TEST_DEVICE ("cpu" when unset), so the same tests
// check a CUDA build on a GPU machine. Tests that need a feature the device lacks skip.
#pragma once

#include <torch/types.h>

#include <cstdlib>
#include <string>

namespace dxl::test {

inline std::string test_device_spec() {
    const char* e = std::getenv("DXL_TEST_DEVICE");
    return e && *e ? std::string(e) : std::string("cpu");
}

inline torch::Device test_device() {
    return torch::Device(test_device_spec());
}

}  // namespace dxl::test
