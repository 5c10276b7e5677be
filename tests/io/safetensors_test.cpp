// safetensors reader/writer without torch: writer -> reader round trips for every dtype, file
// layout (sorted names, 8-byte aligned data), and a deterministic corruption corpus generated
// here (truncations at every length, lying header lengths, bad offsets, overflowing shapes,
// unknown dtypes, invalid UTF-8, non-object headers, duplicate names, negative dims).
#include "core/io/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/base/error.h"
#include "tests/support/test_paths.h"

using dxl::io::DType;
using dxl::io::SafetensorsFile;

namespace {

using Bytes = std::vector<uint8_t>;
const std::string kLabel = "x.safetensors";

Bytes read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return Bytes(std::istreambuf_iterator<char>(in), {});
}

void write_file(const std::string& path, const Bytes& b) {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// An image with header length `n` (as given), header text and `data_bytes` zero bytes.
Bytes image(const std::string& header, size_t data_bytes, uint64_t n) {
    Bytes b(8);
    std::memcpy(b.data(), &n, 8);
    b.insert(b.end(), header.begin(), header.end());
    b.resize(b.size() + data_bytes, 0);
    return b;
}
Bytes image(const std::string& header, size_t data_bytes) {
    return image(header, data_bytes, header.size());
}

std::string entry(const std::string& name, const std::string& dtype, const std::string& shape,
                  const std::string& offsets) {
    return "\"" + name + "\": {\"dtype\": \"" + dtype + "\", \"shape\": " + shape +
           ", \"data_offsets\": " + offsets + "}";
}

// parse_safetensors must throw FormatError whose message contains the label and every part.
void expect_format_error(const Bytes& b, std::initializer_list<std::string> parts) {
    try {
        dxl::io::parse_safetensors(b.data(), b.size(), kLabel);
        ADD_FAILURE() << "expected FormatError for header "
                      << std::string(b.begin() + std::min<size_t>(8, b.size()), b.end());
    } catch (const dxl::FormatError& e) {
        const std::string msg = e.what();
        EXPECT_EQ(msg.rfind(kLabel + ": ", 0), 0u) << msg;
        for (const auto& p : parts)
            EXPECT_NE(msg.find(p), std::string::npos) << msg << "\n lacks: " << p;
    }
}

// A small valid file made by the writer: four tensors of mixed dtypes plus metadata.
Bytes small_valid_file(const std::string& dir) {
    static const float a[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
    static const uint16_t b[4] = {0x3F80, 0x4049, 0xBE80, 0};
    static const int8_t c[3] = {-1, 0, 127};
    const std::string path = dir + "/small.safetensors";
    dxl::io::write_safetensors(path,
                               {{"a", DType::F32, {2, 3}, a},
                                {"b", DType::BF16, {4}, b},
                                {"c", DType::I8, {3}, c},
                                {"d", DType::BOOL, {0}, nullptr}},
                               {{"format", "pt"}});
    return read_file(path);
}

}  // namespace

TEST(Safetensors, DtypeTable) {
    const std::vector<std::pair<DType, size_t>> all = {
        {DType::F64, 8}, {DType::F32, 4}, {DType::F16, 2}, {DType::BF16, 2}, {DType::I64, 8},
        {DType::I32, 4}, {DType::I16, 2}, {DType::I8, 1},  {DType::U8, 1},   {DType::BOOL, 1}};
    for (const auto& [t, size] : all) {
        EXPECT_EQ(dxl::io::dtype_size(t), size);
        EXPECT_EQ(dxl::io::parse_dtype(dxl::io::dtype_name(t)), t);
    }
    EXPECT_FALSE(dxl::io::parse_dtype("F8").has_value());
    EXPECT_FALSE(dxl::io::parse_dtype("f32").has_value());
    EXPECT_FALSE(dxl::io::parse_dtype("").has_value());
}

// Every dtype written by the writer reads back with the same shape and bytes.
TEST(Safetensors, RoundTripEveryDtype) {
    const std::string dir = dxl::test::scratch_dir("st_rt");
    const std::vector<DType> dtypes = {DType::F64, DType::F32, DType::F16, DType::BF16,
                                       DType::I64, DType::I32, DType::I16, DType::I8,
                                       DType::U8,  DType::BOOL};
    std::vector<Bytes> payloads;
    std::vector<dxl::io::TensorToWrite> tensors;
    for (size_t i = 0; i < dtypes.size(); ++i) {
        const std::vector<int64_t> shape = {2, static_cast<int64_t>(i % 3) + 1};
        const size_t n = static_cast<size_t>(shape[0] * shape[1]) * dxl::io::dtype_size(dtypes[i]);
        Bytes p(n);
        for (size_t k = 0; k < n; ++k)
            p[k] = dtypes[i] == DType::BOOL ? (k % 2) : static_cast<uint8_t>(17 * k + 3 * i + 1);
        payloads.push_back(std::move(p));
        // Names in reverse order of dtype so the writer has to sort.
        tensors.push_back({"t" + std::to_string(9 - i), dtypes[i], shape, payloads.back().data()});
    }
    tensors.push_back({"scalar", DType::F32, {}, payloads[1].data()});
    tensors.push_back({"zero", DType::F64, {3, 0}, nullptr});
    const std::string path = dir + "/rt.safetensors";
    dxl::io::write_safetensors(path, tensors, {{"format", "pt"}, {"note", "\xc3\xa9t\xc3\xa9"}});
    EXPECT_FALSE(std::filesystem::exists(path + ".partial"));

    SafetensorsFile f(path);
    EXPECT_EQ(f.path(), path);
    ASSERT_EQ(f.tensors().size(), tensors.size());
    EXPECT_EQ(f.metadata().at("format"), "pt");
    EXPECT_EQ(f.metadata().at("note"), "\xc3\xa9t\xc3\xa9");
    for (size_t i = 0; i < dtypes.size(); ++i) {
        const auto* e = f.find(tensors[i].name);
        ASSERT_NE(e, nullptr) << tensors[i].name;
        EXPECT_EQ(e->dtype, dtypes[i]);
        EXPECT_EQ(e->shape, tensors[i].shape);
        EXPECT_EQ(e->end - e->begin, payloads[i].size());
        EXPECT_EQ(e->numel(), static_cast<uint64_t>(tensors[i].shape[0] * tensors[i].shape[1]));
        EXPECT_EQ(std::memcmp(f.data(*e), payloads[i].data(), payloads[i].size()), 0)
            << tensors[i].name;
    }
    const auto* scalar = f.find("scalar");
    ASSERT_NE(scalar, nullptr);
    EXPECT_TRUE(scalar->shape.empty());
    EXPECT_EQ(scalar->numel(), 1u);
    EXPECT_EQ(std::memcmp(f.data(*scalar), payloads[1].data(), 4), 0);
    const auto* zero = f.find("zero");
    ASSERT_NE(zero, nullptr);
    EXPECT_EQ(zero->numel(), 0u);
    EXPECT_EQ(f.find("absent"), nullptr);

    // Layout: data buffer 8-byte aligned, header padded with spaces, data in sorted-name order.
    const Bytes raw = read_file(path);
    uint64_t n = 0;
    std::memcpy(&n, raw.data(), 8);
    EXPECT_EQ((8 + n) % 8, 0u);
    EXPECT_EQ(raw[8], '{');
    const std::string header(raw.begin() + 8, raw.begin() + 8 + static_cast<long>(n));
    EXPECT_EQ(header.find_last_not_of(' '), header.find_last_of('}'));
    std::vector<std::string> by_offset;
    for (const auto& t : f.tensors())
        by_offset.push_back(t.name);
    EXPECT_TRUE(std::is_sorted(by_offset.begin(), by_offset.end()));

    // Move construction and assignment keep the mapping valid.
    SafetensorsFile g(std::move(f));
    EXPECT_EQ(g.tensors().size(), tensors.size());
    SafetensorsFile h(path);
    h = std::move(g);
    EXPECT_EQ(std::memcmp(h.data(*h.find("t9")), payloads[0].data(), payloads[0].size()), 0);
}

TEST(Safetensors, WriterRejectsBadInput) {
    const std::string dir = dxl::test::scratch_dir("st_writer");
    const float x[2] = {1, 2};
    EXPECT_THROW(dxl::io::write_safetensors(dir + "/a",
                                            {{"w", DType::F32, {2}, x}, {"w", DType::F32, {2}, x}}),
                 dxl::ValueError);
    EXPECT_THROW(dxl::io::write_safetensors(dir + "/a", {{"__metadata__", DType::F32, {2}, x}}),
                 dxl::ValueError);
    EXPECT_THROW(dxl::io::write_safetensors(dir + "/a", {{"w", DType::F32, {-2}, x}}),
                 dxl::ShapeError);
    EXPECT_THROW(dxl::io::write_safetensors(dir + "/a", {{"w", DType::F32, {2}, nullptr}}),
                 dxl::ValueError);
    EXPECT_THROW(dxl::io::write_safetensors(dir + "/a", {{"\xff", DType::F32, {2}, x}}),
                 dxl::ValueError);
    EXPECT_THROW(dxl::io::write_safetensors(dir + "/no/such/dir/a", {{"w", DType::F32, {2}, x}}),
                 dxl::IoError);
    EXPECT_FALSE(std::filesystem::exists(dir + "/a"));
    EXPECT_FALSE(std::filesystem::exists(dir + "/a.partial"));
}

TEST(Safetensors, EmptyHeaderIsValid) {
    const Bytes b = image("{}", 0);
    const auto h = dxl::io::parse_safetensors(b.data(), b.size(), kLabel);
    EXPECT_TRUE(h.tensors.empty());
    EXPECT_EQ(h.data_offset, 10u);
    EXPECT_EQ(h.data_size, 0u);
}

// JSON key order need not follow offset order (the reference sorts by offsets).
TEST(Safetensors, KeyOrderNeedNotMatchOffsetOrder) {
    const Bytes b = image("{" + entry("a", "F32", "[1]", "[4, 8]") + ", " +
                              entry("b", "F32", "[1]", "[0, 4]") + "}  ",
                          8);
    const auto h = dxl::io::parse_safetensors(b.data(), b.size(), kLabel);
    ASSERT_EQ(h.tensors.size(), 2u);
    EXPECT_EQ(h.tensors[0].name, "b");
    EXPECT_EQ(h.tensors[1].name, "a");
}

// (a) every truncation of a valid file is a FormatError, never a crash; also through the mmap.
TEST(SafetensorsCorpus, EveryTruncationIsFormatError) {
    const std::string dir = dxl::test::scratch_dir("st_trunc");
    const Bytes full = small_valid_file(dir);
    ASSERT_NO_THROW(dxl::io::parse_safetensors(full.data(), full.size(), kLabel));
    ASSERT_GT(full.size(), 100u);
    for (size_t len = 0; len < full.size(); ++len) {
        const Bytes cut(full.begin(), full.begin() + static_cast<long>(len));
        EXPECT_THROW(dxl::io::parse_safetensors(cut.data(), cut.size(), kLabel), dxl::FormatError)
            << "length " << len;
    }
    for (size_t len : {size_t(0), size_t(5), size_t(8), size_t(40), full.size() - 1}) {
        const std::string path = dir + "/cut" + std::to_string(len) + ".safetensors";
        write_file(path, Bytes(full.begin(), full.begin() + static_cast<long>(len)));
        try {
            SafetensorsFile f(path);
            ADD_FAILURE() << "length " << len << " was accepted";
        } catch (const dxl::FormatError& e) {
            EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
        }
    }
    EXPECT_THROW(SafetensorsFile(dir + "/absent.safetensors"), dxl::IoError);
    EXPECT_THROW(SafetensorsFile{dir}, dxl::IoError);  // a directory
}

// (b) header lengths that lie.
TEST(SafetensorsCorpus, LyingHeaderLengths) {
    const std::string hdr = "{" + entry("w", "F32", "[1]", "[0, 4]") + "}";
    expect_format_error(image(hdr, 4, ~uint64_t(0)),
                        {"header length 18446744073709551615", "100000000-byte limit"});
    expect_format_error(image(hdr, 4, 100'000'001), {"100000000-byte limit"});
    expect_format_error(image(hdr, 4, hdr.size() + 5), {"exceeds the", "truncated"});
    expect_format_error(image(hdr, 4, 0), {"header length is 0"});
    // Shorter than the real header: the JSON is cut.
    expect_format_error(image(hdr, 4, hdr.size() - 3), {"not valid JSON"});
    // Longer than the real header (swallowing data bytes): trailing NULs are not JSON.
    expect_format_error(image(hdr, 4, hdr.size() + 4),
                        {"NUL byte at header offset " + std::to_string(hdr.size())});
    EXPECT_NO_THROW(dxl::io::parse_safetensors(image(hdr, 4).data(), 8 + hdr.size() + 4, kLabel));
}

// (c) offsets that overlap, leave gaps, are reversed or run past the buffer.
TEST(SafetensorsCorpus, BadOffsets) {
    auto two = [](const std::string& oa, const std::string& ob) {
        return "{" + entry("a", "F32", "[2]", oa) + ", " + entry("b", "F32", "[2]", ob) + "}";
    };
    expect_format_error(image(two("[0, 8]", "[4, 12]"), 12), {"tensor 'b'", "overlap tensor 'a'"});
    expect_format_error(image(two("[0, 8]", "[0, 8]"), 8), {"overlap"});
    expect_format_error(image(two("[0, 8]", "[12, 20]"), 20), {"tensor 'b'", "gap of 4 bytes"});
    expect_format_error(image(two("[4, 12]", "[12, 20]"), 20),
                        {"tensor 'a'", "gap of 4 bytes", "start of the data buffer"});
    expect_format_error(image(two("[8, 0]", "[8, 16]"), 16), {"tensor 'a'", "reversed"});
    expect_format_error(image(two("[0, 8]", "[8, 16]"), 12),
                        {"tensor 'b'", "run past the end of the 12-byte data buffer"});
    expect_format_error(image(two("[0, 8]", "[8, 16]"), 20), {"cover 16 bytes", "holds 20"});
    expect_format_error(image(two("[0, 8]", "[8, 16]"), 0), {"run past the end"});
    // Span disagrees with shape x dtype: the message names file, tensor, rule and numbers.
    expect_format_error(image("{" + entry("w", "F32", "[2, 2]", "[0, 12]") + "}", 12),
                        {"x.safetensors: tensor 'w': data_offsets [0, 12] span 12 bytes but shape "
                         "[2, 2] x F32 needs 16"});
    for (const std::string off :
         {"[0]", "[0, 4, 8]", "{}", "[0, \"4\"]", "[-4, 4]", "[0, 4.5]", "7"})
        expect_format_error(image("{" + entry("w", "F32", "[1]", off) + "}", 4),
                            {"tensor 'w'", "data_offsets"});
}

// (d) shapes whose element or byte count overflows.
TEST(SafetensorsCorpus, OverflowingShapes) {
    auto one = [](const std::string& dtype, const std::string& shape) {
        return image("{" + entry("w", dtype, shape, "[0, 4]") + "}", 4);
    };
    expect_format_error(one("F32", "[4294967296, 4294967296]"), {"tensor 'w'", "overflows"});
    expect_format_error(one("U8", "[4611686018427387904, 4]"), {"tensor 'w'", "overflows"});
    // 2^63 elements: fits uint64 but not int64.
    expect_format_error(one("U8", "[4294967296, 2147483648]"), {"more than 2^63-1 elements"});
    // 2^62 F32 elements: 2^64 bytes.
    expect_format_error(one("F32", "[4611686018427387904]"), {"byte count overflows"});
    expect_format_error(one("U8", "[9223372036854775808, 0]"), {"dim larger than 2^63-1"});
    expect_format_error(one("U8", "[100000000000000000000]"), {"expected integer dims"});
    // A zero dim does not excuse an overflowing prefix (as in the reference's checked fold).
    expect_format_error(one("U8", "[4294967296, 4294967296, 0]"), {"overflows"});
}

// (e) unknown dtypes; (i) negative or non-integer dims; missing / mistyped fields.
TEST(SafetensorsCorpus, BadEntries) {
    expect_format_error(image("{" + entry("w", "F8", "[4]", "[0, 4]") + "}", 4),
                        {"tensor 'w'", "unknown dtype 'F8'"});
    expect_format_error(image("{" + entry("w", "f32", "[1]", "[0, 4]") + "}", 4),
                        {"unknown dtype"});
    expect_format_error(image("{" + entry("w", "F32", "[-1, 4]", "[0, 4]") + "}", 4),
                        {"tensor 'w'", "shape [-1, 4]", "negative dim"});
    expect_format_error(image("{" + entry("w", "F32", "[1.5]", "[0, 4]") + "}", 4),
                        {"expected integer dims"});
    expect_format_error(image("{" + entry("w", "F32", "\"1\"", "[0, 4]") + "}", 4),
                        {"shape: expected an array"});
    expect_format_error(image(R"({"w": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}})", 4),
                        {"dtype: expected a string"});
    expect_format_error(image(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", 4),
                        {"'dtype' is missing"});
    expect_format_error(image(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", 4),
                        {"'shape' is missing"});
    expect_format_error(image(R"({"w": {"dtype": "F32", "shape": [1]}})", 4),
                        {"'data_offsets' is missing"});
    expect_format_error(image(R"({"w": [1, 2]})", 0), {"tensor 'w'", "expected an object"});
    expect_format_error(image(R"({"__metadata__": {"a": 1}})", 0), {"__metadata__", "'a'"});
    expect_format_error(image(R"({"__metadata__": ["a"]})", 0), {"__metadata__"});
    const Bytes meta = image(R"({"__metadata__": {"format": "pt", "x": ""}})", 0);
    const auto h = dxl::io::parse_safetensors(meta.data(), meta.size(), kLabel);
    EXPECT_EQ(h.metadata.at("format"), "pt");
    EXPECT_EQ(h.metadata.at("x"), "");
}

// (f) invalid UTF-8 in the header; (g) headers that are not JSON objects; (h) duplicates.
TEST(SafetensorsCorpus, BadHeaderText) {
    const std::string good = entry("w", "F32", "[1]", "[0, 4]");
    for (const std::string bad :
         {"\xff", "\xc0\xaf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "\x80"}) {
        expect_format_error(image("{" + entry("w" + bad, "F32", "[1]", "[0, 4]") + "}", 4),
                            {"not valid UTF-8"});
    }
    const Bytes multibyte = image(
        "{" + entry("w\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", "F32", "[1]", "[0, 4]") + "}", 4);
    EXPECT_NO_THROW(dxl::io::parse_safetensors(multibyte.data(), multibyte.size(), kLabel));
    expect_format_error(image("[" + std::string("1, 2") + "]", 0),
                        {"expected a JSON object, but got an array"});
    expect_format_error(image("[{" + good + "}]", 4), {"expected a JSON object, but got an array"});
    expect_format_error(image("\"x\"", 0), {"expected a JSON object, but got a string"});
    expect_format_error(image("null", 0), {"expected a JSON object, but got null"});
    expect_format_error(image(" {}", 0), {"must start with '{'"});
    expect_format_error(image("{" + good, 4), {"not valid JSON"});
    expect_format_error(image("{" + good + "} x", 4), {"not valid JSON"});
    expect_format_error(image(std::string("{\0}", 3), 0), {"NUL byte at header offset 1"});
    expect_format_error(image("{}" + std::string(6, '\0'), 0), {"NUL byte at header offset 2"});
    expect_format_error(image("{" + good + ", " + entry("w", "F32", "[1]", "[4, 8]") + "}", 8),
                        {"tensor 'w' appears more than once"});
    expect_format_error(
        image(R"({"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})",
              4),
        {"tensor 'w'", "field 'dtype' appears more than once"});
    expect_format_error(image(R"({"__metadata__": {"a": "1", "a": "2"}})", 0),
                        {"'a' appears more than once"});
}
