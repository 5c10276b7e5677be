// Checkpoint: loading the golden weight files, dtype conversion (F16/BF16 bit patterns and
// torch's own conversion), save_safetensors round trips and sharded checkpoints.
#include "core/io/checkpoint.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/io/safetensors.h"
#include "tests/support/golden.h"
#include "tests/support/test_paths.h"

namespace fs = std::filesystem;
using dxl::io::Checkpoint;
using dxl::io::DType;

namespace {

// Asserts that `fn` throws E whose message contains every one of `parts`.
template <typename E, typename Fn>
void expect_throw_with(Fn&& fn, std::initializer_list<std::string> parts) {
    try {
        fn();
        ADD_FAILURE() << "expected an exception";
    } catch (const E& e) {
        const std::string msg = e.what();
        for (const auto& p : parts)
            EXPECT_NE(msg.find(p), std::string::npos) << msg << "\n lacks: " << p;
    }
}

void write_text(const std::string& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

}  // namespace

// The model directory and the HF-named golden file are the same weights; the nanoGPT-named file
// holds them too, with the four Conv1D weights transposed and lm_head tied to wte (golden README).
TEST(Checkpoint, GoldenGpt2FilesHoldTheSameTensors) {
    const Checkpoint dir = Checkpoint::open_dir(dxl::test::data_path("golden/models/gpt2_2600"));
    const Checkpoint hf =
        Checkpoint::open_file(dxl::test::data_path("golden/gpt2_hf_seed2600.safetensors"));
    const Checkpoint nano =
        Checkpoint::open_file(dxl::test::data_path("golden/gpt2_nanogpt_seed2600.safetensors"));
    EXPECT_EQ(dir.names().size(), 28u);
    EXPECT_EQ(dir.names(), hf.names());
    EXPECT_EQ(nano.names().size(), 29u);
    EXPECT_EQ(dir.metadata().at("seed"), "2600");
    EXPECT_EQ(nano.metadata().at("naming"), "nanoGPT state_dict");
    EXPECT_NE(dir.description().find("model.safetensors (28 tensors)"), std::string::npos);

    const torch::Tensor wte = dir.get("transformer.wte.weight", {97, 64});  // (V, D)
    EXPECT_EQ(wte.scalar_type(), torch::kFloat32);
    EXPECT_TRUE(wte.is_contiguous());
    EXPECT_EQ(dxl::test::max_abs_diff(wte, nano.get("transformer.wte.weight")), 0.0);
    EXPECT_EQ(
        dxl::test::max_abs_diff(nano.get("lm_head.weight"), nano.get("transformer.wte.weight")),
        0.0);
    // The values are real weights (N(0, 0.5^2) per the README), not zeros.
    EXPECT_GT(wte.abs().max().item<float>(), 0.5f);

    for (const auto& name : dir.names()) {
        ASSERT_TRUE(nano.contains(name)) << name;
        const torch::Tensor a = dir.get(name);  // HF layout
        const torch::Tensor b = hf.get(name);
        EXPECT_EQ(dxl::test::max_abs_diff(a, b), 0.0) << name;
        const bool conv1d = name.find("c_attn.weight") != std::string::npos ||
                            name.find("c_proj.weight") != std::string::npos ||
                            name.find("c_fc.weight") != std::string::npos;
        const torch::Tensor n = nano.get(name);
        EXPECT_EQ(dxl::test::max_abs_diff(a, conv1d ? n.t().contiguous() : n), 0.0) << name;
    }
}

TEST(Checkpoint, GetConvertsToRequestedFloatDtype) {
    const Checkpoint c =
        Checkpoint::open_file(dxl::test::data_path("golden/gpt2_hf_seed2600.safetensors"));
    const torch::Tensor f32 = c.get("transformer.wpe.weight");                   // (T, D)
    const torch::Tensor f64 = c.get("transformer.wpe.weight", torch::kFloat64);  // (T, D)
    EXPECT_EQ(f64.scalar_type(), torch::kFloat64);
    EXPECT_EQ(dxl::test::max_abs_diff(f32, f64), 0.0);
    const torch::Tensor bf = c.get("transformer.wpe.weight", torch::kBFloat16);
    EXPECT_TRUE(torch::equal(bf, f32.to(torch::kBFloat16)));
}

TEST(Checkpoint, MissingTensorAndShapeMismatchNameFileAndTensor) {
    const std::string file = dxl::test::data_path("golden/gpt2_hf_seed2600.safetensors");
    const Checkpoint c = Checkpoint::open_file(file);
    EXPECT_FALSE(c.contains("lm_head.weight"));
    expect_throw_with<dxl::FormatError>([&] { c.get("lm_head.weight"); },
                                        {file, "tensor 'lm_head.weight' is missing"});
    expect_throw_with<dxl::FormatError>([&] { c.shape("nope"); }, {file, "'nope'"});
    expect_throw_with<dxl::ShapeError>(
        [&] {
            c.get("transformer.wte.weight", {64, 97});
        },
        {"transformer.wte.weight: expected [64, 97], got [97, 64]"});
    expect_throw_with<dxl::UnsupportedError>(
        [&] { c.get("transformer.wte.weight", torch::kInt64); }, {"transformer.wte.weight", "F32"});
}

TEST(Checkpoint, OpenDirWithoutWeightsIsIoError) {
    const std::string dir = dxl::test::scratch_dir("ckpt_empty");
    expect_throw_with<dxl::IoError>([&] { Checkpoint::open_dir(dir); },
                                    {dir, "model.safetensors", "model.safetensors.index.json"});
    expect_throw_with<dxl::IoError>([&] { Checkpoint::open_dir(dir + "/absent"); }, {"absent"});
    expect_throw_with<dxl::IoError>([&] { Checkpoint::open_file(dir + "/x.safetensors"); },
                                    {"x.safetensors"});
}

// F16 and BF16 bit patterns decode to the exact values IEEE 754 / bfloat16 define, and equal
// torch's own conversion of the float to that dtype.
TEST(Checkpoint, HalfAndBFloat16BitPatternsDecodeExactly) {
    struct Case {
        uint16_t bits;
        float value;
    };
    const std::vector<Case> f16 = {{0x3C00, 1.0f},
                                   {0xC000, -2.0f},
                                   {0x7BFF, 65504.0f},
                                   {0x0001, std::ldexp(1.0f, -24)},
                                   {0x0400, std::ldexp(1.0f, -14)},
                                   {0x3555, 0.333251953125f},
                                   {0x7C00, INFINITY},
                                   {0x8000, -0.0f}};
    const std::vector<Case> bf16 = {{0x3F80, 1.0f},
                                    {0x4049, 3.140625f},
                                    {0xFF80, -INFINITY},
                                    {0x0001, std::ldexp(1.0f, -133)},
                                    {0x7F7F, 3.3895313892515355e38f},
                                    {0xBE80, -0.25f}};
    const std::string dir = dxl::test::scratch_dir("ckpt_half");
    std::vector<uint16_t> hb, bb;
    for (const auto& c : f16)
        hb.push_back(c.bits);
    for (const auto& c : bf16)
        bb.push_back(c.bits);
    const std::string path = dir + "/half.safetensors";
    dxl::io::write_safetensors(path, {{"h", DType::F16, {int64_t(hb.size())}, hb.data()},
                                      {"b", DType::BF16, {int64_t(bb.size())}, bb.data()}});
    const Checkpoint c = Checkpoint::open_file(path);
    const torch::Tensor h = c.get("h");  // (8,)
    const torch::Tensor b = c.get("b");  // (6,)
    for (size_t i = 0; i < f16.size(); ++i) {
        EXPECT_EQ(h[i].item<float>(), f16[i].value) << i;
        EXPECT_EQ(std::signbit(h[i].item<float>()), std::signbit(f16[i].value)) << i;
        // torch's conversion float -> half gives back the same bits.
        const torch::Tensor th = torch::tensor({f16[i].value}).to(torch::kFloat16);
        const auto bits = static_cast<uint16_t>(th.view(torch::kInt16).item<int16_t>());
        EXPECT_EQ(bits, f16[i].bits) << i;
    }
    for (size_t i = 0; i < bf16.size(); ++i) {
        EXPECT_EQ(b[i].item<float>(), bf16[i].value) << i;
        const torch::Tensor tb = torch::tensor({bf16[i].value}).to(torch::kBFloat16);
        const auto bits = static_cast<uint16_t>(tb.view(torch::kInt16).item<int16_t>());
        EXPECT_EQ(bits, bf16[i].bits) << i;
    }
    // Kept in the source dtype when asked.
    EXPECT_EQ(c.get("h", torch::kFloat16).scalar_type(), torch::kFloat16);
}

// copy_to converts straight from the mapped file into a parameter: the same values as get(),
// for aligned and deliberately misaligned tensor starts, with shape errors named; the headers
// alone give dtypes and byte counts.
TEST(Checkpoint, CopyToEqualsGetAndHeadersGiveDtypeAndBytes) {
    const std::string path = dxl::test::scratch_dir("ckpt_copy_to") + "/w.safetensors";
    torch::manual_seed(3);
    const torch::Tensor a = torch::randn({4, 6}).to(torch::kBFloat16);  // (4, 6)
    const torch::Tensor odd = torch::randn({3}).to(torch::kFloat16);    // (3,): 6 bytes
    const torch::Tensor b = torch::randn({5, 2});                       // (5, 2) f32
    // Written in name order: a at 0, b at 48, the 3 bytes of c at 88 put m (91) and z (97) at
    // odd offsets, which copy_to must not view in place.
    const torch::Tensor c3 = torch::tensor({1, 2, 3}, torch::kUInt8);
    const torch::Tensor z = torch::randn({7}).to(torch::kBFloat16);
    dxl::io::save_safetensors(path, {{"a", a}, {"b", b}, {"c", c3}, {"m", odd}, {"z", z}});
    const Checkpoint c = Checkpoint::open_file(path);
    EXPECT_EQ(c.stored_dtype("a"), DType::BF16);
    EXPECT_EQ(c.stored_dtype("b"), DType::F32);
    EXPECT_EQ(c.data_bytes(), uint64_t(48 + 40 + 3 + 6 + 14));
    EXPECT_EQ(c.file_count(), 1u);
    for (const char* name : {"a", "b", "m", "z"}) {
        const torch::Tensor want = c.get(name);  // float32
        torch::Tensor dst = torch::empty_like(want);
        c.copy_to(name, dst);
        EXPECT_TRUE(torch::equal(dst, want)) << name;
    }
    torch::Tensor wrong = torch::empty({6, 4});
    try {
        c.copy_to("a", wrong);
        ADD_FAILURE() << "no ShapeError";
    } catch (const dxl::ShapeError& e) {
        EXPECT_NE(std::string(e.what()).find("a: expected [6, 4], got [4, 6]"), std::string::npos)
            << e.what();
    }
    EXPECT_THROW(c.copy_to("nope", wrong), dxl::FormatError);
}

// save_safetensors -> Checkpoint for every dtype safetensors knows.
TEST(Checkpoint, SaveAndLoadEveryDtype) {
    const std::string path = dxl::test::scratch_dir("ckpt_rt") + "/all.safetensors";
    torch::manual_seed(7);
    const torch::Tensor base = torch::randn({3, 5}, torch::kFloat64) * 100;  // (3, 5)
    const std::vector<torch::Dtype> dtypes = {
        torch::kFloat64, torch::kFloat32, torch::kFloat16, torch::kBFloat16, torch::kInt64,
        torch::kInt32,   torch::kInt16,   torch::kInt8,    torch::kUInt8,    torch::kBool};
    std::vector<std::pair<std::string, torch::Tensor>> tensors;
    for (auto dt : dtypes) {
        // Integer targets get in-range values (out-of-range float->int casts are undefined).
        const bool integral = !c10::isFloatingType(dt);
        tensors.emplace_back(c10::toString(dt),
                             (integral ? base.abs().clamp_max(120) : base).to(dt));
    }
    tensors.emplace_back("scalar", torch::tensor(2.5));             // ()
    tensors.emplace_back("empty", torch::zeros({0, 4}));            // (0, 4)
    tensors.emplace_back("strided", base.to(torch::kFloat32).t());  // (5, 3), non-contiguous
    dxl::io::save_safetensors(path, tensors, {{"k", "v"}});
    EXPECT_FALSE(fs::exists(path + ".partial"));

    const Checkpoint c = Checkpoint::open_file(path);
    EXPECT_EQ(c.names().size(), tensors.size());
    EXPECT_EQ(c.metadata().at("k"), "v");
    for (const auto& [name, t] : tensors) {
        const torch::Tensor got = c.get(name, t.scalar_type());
        EXPECT_EQ(got.sizes(), t.sizes()) << name;
        EXPECT_TRUE(torch::equal(got, t)) << name;
    }
    // Integer tensors convert to float on request.
    EXPECT_TRUE(torch::equal(c.get("Int"),
                             base.abs().clamp_max(120).to(torch::kInt32).to(torch::kFloat32)));
    expect_throw_with<dxl::UnsupportedError>(
        [&] {
            dxl::io::save_safetensors(path, {{"c", torch::zeros({2}, torch::kComplexFloat)}});
        },
        {"'c'", "ComplexFloat"});
}

TEST(Checkpoint, BoolBytesOtherThanZeroOrOneAreRejected) {
    const std::string path = dxl::test::scratch_dir("ckpt_bool") + "/b.safetensors";
    const uint8_t bytes[3] = {0, 1, 2};
    dxl::io::write_safetensors(path, {{"mask", DType::BOOL, {3}, bytes}});
    const Checkpoint c = Checkpoint::open_file(path);
    expect_throw_with<dxl::FormatError>([&] { c.get("mask", torch::kBool); },
                                        {"'mask'", "element 2"});
}

namespace {
// Writes the gpt2 golden weights as two shards + index into `dir`; returns the names per shard.
void write_sharded(const std::string& dir, const Checkpoint& src,
                   const std::string& index_extra = "") {
    std::vector<std::pair<std::string, torch::Tensor>> s1, s2;
    std::string wm;
    for (const auto& name : src.names()) {
        const bool first = name.find(".h.1.") == std::string::npos;
        (first ? s1 : s2).emplace_back(name, src.get(name));
        wm += (wm.empty() ? "" : ",\n") + std::string("\"") + name + "\": \"" +
              (first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors") +
              "\"";
    }
    dxl::io::save_safetensors(dir + "/model-00001-of-00002.safetensors", s1, {{"format", "pt"}});
    dxl::io::save_safetensors(dir + "/model-00002-of-00002.safetensors", s2, {{"format", "pt"}});
    write_text(
        dir + "/model.safetensors.index.json",
        "{\"metadata\": {\"total_size\": 436000}, \"weight_map\": {" + wm + index_extra + "}}");
}
}  // namespace

TEST(Checkpoint, ShardedCheckpointLoadsLikeTheSingleFile) {
    const Checkpoint src = Checkpoint::open_dir(dxl::test::data_path("golden/models/gpt2_2600"));
    const std::string dir = dxl::test::scratch_dir("ckpt_sharded");
    write_sharded(dir, src);
    const Checkpoint c = Checkpoint::open_dir(dir);
    EXPECT_EQ(c.names(), src.names());
    EXPECT_EQ(c.metadata().at("total_size"), "436000");
    EXPECT_EQ(c.metadata().at("format"), "pt");
    EXPECT_NE(c.description().find("2 shards, 28 tensors"), std::string::npos) << c.description();
    for (const auto& name : src.names()) {
        EXPECT_EQ(c.shape(name), src.shape(name)) << name;
        EXPECT_EQ(dxl::test::max_abs_diff(c.get(name), src.get(name)), 0.0) << name;
    }
}

TEST(Checkpoint, ShardedIndexErrorsNameTensorAndShard) {
    const Checkpoint src = Checkpoint::open_dir(dxl::test::data_path("golden/models/gpt2_2600"));
    {
        const std::string dir = dxl::test::scratch_dir("ckpt_shard_missing_file");
        write_sharded(dir, src, ",\n\"extra.weight\": \"model-00003-of-00003.safetensors\"");
        expect_throw_with<dxl::IoError>([&] { Checkpoint::open_dir(dir); },
                                        {"model.safetensors.index.json", "'extra.weight'",
                                         "model-00003-of-00003.safetensors", "does not exist"});
    }
    {
        const std::string dir = dxl::test::scratch_dir("ckpt_shard_missing_tensor");
        write_sharded(dir, src, ",\n\"extra.weight\": \"model-00002-of-00002.safetensors\"");
        expect_throw_with<dxl::FormatError>(
            [&] { Checkpoint::open_dir(dir); },
            {"'extra.weight'", "model-00002-of-00002.safetensors", "does not contain it"});
    }
    {
        const std::string dir = dxl::test::scratch_dir("ckpt_shard_bad_index");
        write_text(dir + "/model.safetensors.index.json", "{\"weight_map\": [1, 2]}");
        expect_throw_with<dxl::FormatError>([&] { Checkpoint::open_dir(dir); }, {"weight_map"});
        write_text(dir + "/model.safetensors.index.json", "{\"weight_map\": {\"a\": \"../x\"}}");
        expect_throw_with<dxl::FormatError>([&] { Checkpoint::open_dir(dir); }, {"'a'", "../x"});
        write_text(dir + "/model.safetensors.index.json", "{\"weight_map\": ");
        expect_throw_with<dxl::FormatError>([&] { Checkpoint::open_dir(dir); },
                                            {"model.safetensors.index.json"});
    }
}
