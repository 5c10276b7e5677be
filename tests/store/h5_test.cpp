// dxl_store: the HDF5 wrapper round-trips datasets and attributes and reads the shared goldens.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/store/h5.h"
#include "tests/support/test_paths.h"

namespace {

using dxl::h5::File;

TEST(H5, RoundTripDatasetsAndAttributes) {
    std::string path = dxl::test::scratch_dir("h5") + "/a.h5";
    {
        File f(path, File::Mode::Truncate);
        std::vector<float> v = {1.5f, -2.f, 3.f, 4.f, 5.f, 6.f};
        f.root().write<float>("teacher/layer_00/attn_probs", v, {1, 2, 3}, {1, 2, 3});
        std::vector<int64_t> t = {7, 8, 9};
        f.root().write<int64_t>("tokens", t, {3});
        f.root().set_attr("format", "dxl-forward");
        f.root().set_attr("schema_version", int64_t{1});
        f.root().set_attr("scale", 0.25);
        f.root().set_attr("dims", "H,T,T", "teacher/layer_00/attn_probs");
    }
    File f(path, File::Mode::ReadOnly);
    dxl::h5::Dims d;
    auto v = f.root().read<double>("teacher/layer_00/attn_probs", &d);
    ASSERT_EQ(d, (dxl::h5::Dims{1, 2, 3}));
    EXPECT_DOUBLE_EQ(v[0], 1.5);
    EXPECT_DOUBLE_EQ(v[5], 6.0);
    EXPECT_EQ(f.root().read<int64_t>("tokens"), (std::vector<int64_t>{7, 8, 9}));
    EXPECT_EQ(f.root().attr_string("format"), "dxl-forward");
    EXPECT_EQ(f.root().attr_int("schema_version"), 1);
    EXPECT_DOUBLE_EQ(f.root().attr_double("scale"), 0.25);
    EXPECT_EQ(f.root().attr_string("dims", "teacher/layer_00/attn_probs"), "H,T,T");
    EXPECT_TRUE(f.root().is_group("teacher/layer_00"));
    EXPECT_TRUE(f.root().is_dataset("teacher/layer_00/attn_probs"));
    EXPECT_FALSE(f.root().exists("teacher/layer_01"));
    EXPECT_EQ(f.root().group("teacher").members(), (std::vector<std::string>{"layer_00"}));
}

TEST(H5, MissingAndCorruptFilesGiveTypedErrors) {
    std::string dir = dxl::test::scratch_dir("h5bad");
    EXPECT_THROW(File(dir + "/none.h5", File::Mode::ReadOnly), dxl::IoError);
    std::ofstream(dir + "/junk.h5") << "this is not hdf5";
    EXPECT_THROW(File(dir + "/junk.h5", File::Mode::ReadOnly), dxl::FormatError);
    File f(dir + "/ok.h5", File::Mode::Truncate);
    EXPECT_THROW(f.root().read<float>("nope"), dxl::FormatError);
    EXPECT_THROW(f.root().attr_string("nope"), dxl::FormatError);
}

TEST(H5, ReadsSharedGoldenAttributes) {
    File f(dxl::test::data_path("golden/models/gpt2_2600/expected.h5"), File::Mode::ReadOnly);
    EXPECT_EQ(f.root().attr_string("model_type"), "gpt2");
    EXPECT_DOUBLE_EQ(f.root().attr_double("tolerance_logits_abs"), 1e-4);
    dxl::h5::Dims d;
    auto tokens = f.root().read<int64_t>("tokens", &d);
    EXPECT_EQ(d, (dxl::h5::Dims{32}));
    EXPECT_EQ(f.root().dims("attn_probs/layer_01"), (dxl::h5::Dims{4, 32, 32}));
}

}  // namespace
