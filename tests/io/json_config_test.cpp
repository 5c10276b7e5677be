// JsonConfig: typed getters, optional fields, nested objects and file/key-naming errors.
#include "core/io/json_config.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/base/error.h"
#include "tests/support/test_paths.h"

using dxl::io::JsonConfig;

namespace {

std::string write_json(const std::string& text) {
    static int n = 0;
    const std::string path = dxl::test::scratch_dir("json") + "/c" + std::to_string(n++) + ".json";
    std::ofstream(path) << text;
    return path;
}

template <typename E, typename Fn>
std::string message_of(Fn&& fn) {
    try {
        fn();
    } catch (const E& e) {
        return e.what();
    }
    ADD_FAILURE() << "expected an exception";
    return {};
}

}  // namespace

TEST(JsonConfig, TypedGetters) {
    const auto c = JsonConfig::load(write_json(R"({"model_type": "gpt2", "n_embd": 64, "eps": 1e-5,
        "flag": true, "whole": 3.0, "dims": [1, 2, 3], "xs": [0.5, 1], "names": ["a", "b"],
        "nothing": null, "sub": {"k": 7}})"));
    EXPECT_EQ(c.model_type(), "gpt2");
    EXPECT_EQ(c.get<int>("n_embd"), 64);
    EXPECT_EQ(c.get<int64_t>("n_embd"), 64);
    EXPECT_DOUBLE_EQ(c.get<double>("eps"), 1e-5);
    EXPECT_FLOAT_EQ(c.get<float>("n_embd"), 64.0f);  // integers are numbers too
    EXPECT_TRUE(c.get<bool>("flag"));
    EXPECT_EQ(c.get<int>("whole"), 3);  // 3.0 is an integer value
    EXPECT_EQ(c.get<std::vector<int64_t>>("dims"), (std::vector<int64_t>{1, 2, 3}));
    EXPECT_EQ(c.get<std::vector<double>>("xs"), (std::vector<double>{0.5, 1.0}));
    EXPECT_EQ(c.get<std::vector<std::string>>("names"), (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(c.has("n_embd"));
    EXPECT_FALSE(c.has("nothing"));
    EXPECT_FALSE(c.has("absent"));
    EXPECT_EQ(c.get_or<int>("absent", 5), 5);
    EXPECT_EQ(c.get_or<int>("nothing", 6), 6);
    EXPECT_EQ(c.get_or<int>("n_embd", 6), 64);
    EXPECT_EQ(c.sub("sub").get<int>("k"), 7);
}

TEST(JsonConfig, ErrorsNameFileAndField) {
    const std::string path =
        write_json(R"({"n_embd": "64", "eps": 0.5, "sub": 3, "dims": [1, "x"]})");
    const auto c = JsonConfig::load(path);
    auto msg = message_of<dxl::FormatError>([&] { c.get<int>("n_embd"); });
    EXPECT_NE(msg.find(path + ": field 'n_embd': expected an integer, but got a string"),
              std::string::npos)
        << msg;
    msg = message_of<dxl::FormatError>([&] { c.get<int>("eps"); });
    EXPECT_NE(msg.find("'eps'"), std::string::npos) << msg;
    msg = message_of<dxl::FormatError>([&] { c.get<int>("missing"); });
    EXPECT_NE(msg.find("field 'missing' is missing"), std::string::npos) << msg;
    msg = message_of<dxl::FormatError>([&] { c.get_or<int>("n_embd", 1); });
    EXPECT_NE(msg.find("'n_embd'"), std::string::npos) << msg;
    msg = message_of<dxl::FormatError>([&] { c.sub("sub"); });
    EXPECT_NE(msg.find("field 'sub': expected an object"), std::string::npos) << msg;
    msg = message_of<dxl::FormatError>([&] { c.sub("nope"); });
    EXPECT_NE(msg.find("'nope'"), std::string::npos) << msg;
    msg = message_of<dxl::FormatError>([&] { c.get<std::vector<int64_t>>("dims"); });
    EXPECT_NE(msg.find("'dims'"), std::string::npos) << msg;
    msg = message_of<dxl::FormatError>([&] { c.model_type(); });
    EXPECT_NE(msg.find("'model_type' is missing"), std::string::npos) << msg;
}

TEST(JsonConfig, LoadErrors) {
    const std::string dir = dxl::test::scratch_dir("json_missing");
    auto msg = message_of<dxl::IoError>([&] { JsonConfig::load(dir + "/absent.json"); });
    EXPECT_NE(msg.find("absent.json"), std::string::npos) << msg;
    const std::string bad = write_json("{\"a\": ");
    msg = message_of<dxl::FormatError>([&] { JsonConfig::load(bad); });
    EXPECT_NE(msg.find(bad + ": not valid JSON"), std::string::npos) << msg;
    const std::string arr = write_json("[1, 2]");
    msg = message_of<dxl::FormatError>([&] { JsonConfig::load(arr); });
    EXPECT_NE(msg.find("expected a JSON object"), std::string::npos) << msg;
    // A directory is not a config file.
    EXPECT_THROW(JsonConfig::load(dir), dxl::IoError);
}

TEST(JsonConfig, GoldenModelConfigs) {
    const auto gpt2 = JsonConfig::load(dxl::test::data_path("golden/models/gpt2_2600/config.json"));
    EXPECT_EQ(gpt2.model_type(), "gpt2");
    EXPECT_EQ(gpt2.get<int>("n_embd"), 64);
    EXPECT_EQ(gpt2.get<int>("vocab_size"), 97);
    EXPECT_EQ(gpt2.get_or<int>("n_inner", -1), -1);  // null in the file: README says n_inner null
}
