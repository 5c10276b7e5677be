// Capture store, torch-free part: writer/reader round trip of every dtype, lazy
// slices, manifest and checksums, crash recovery, append, damaged and foreign files.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core/base/error.h"
#include "core/store/capture_reader.h"
#include "core/store/capture_writer.h"
#include "tests/support/test_paths.h"

namespace {

namespace fs = std::filesystem;
using namespace dxl::store;

uint16_t f16_bits(float f) {
    // Round-to-nearest-even float -> half for normal-range test values.
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000u;
    int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
    uint32_t mant = x & 0x7fffffu;
    if (exp <= 0) return static_cast<uint16_t>(sign);
    uint32_t h = sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;
    return static_cast<uint16_t>(h);
}

template <typename T>
Chunk make_chunk(const std::string& path, DType dt, std::vector<uint64_t> shape,
                 const std::vector<T>& v, const std::string& dims) {
    Chunk c;
    c.path = path;
    c.dtype = dt;
    c.shape = std::move(shape);
    c.dims = dims;
    c.bytes.resize(v.size() * sizeof(T));
    std::memcpy(c.bytes.data(), v.data(), c.bytes.size());
    return c;
}

// One sample with every dtype: f16 maps (H=3, T=40), f32 gates, int64 tokens, int32, uint8,
// strings.
void write_sample(CaptureWriter& w, int seed) {
    w.begin_sample();
    const uint64_t H = 3, T = 40;
    std::vector<uint16_t> maps(H * T * T);
    for (size_t i = 0; i < maps.size(); ++i)
        maps[i] = f16_bits(static_cast<float>((i * 7 + seed) % 1000) / 1000.f);
    Chunk m = make_chunk("teacher/layer_00/attn_probs", DType::F16, {H, T, T}, maps, "H,T,T");
    m.image = true;
    m.heads = {0, 2, 5};
    w.put(std::move(m));
    std::vector<float> g(H * T);
    for (size_t i = 0; i < g.size(); ++i)
        g[i] = static_cast<float>(i) * 0.5f - 3.f + static_cast<float>(seed);
    w.put(make_chunk("student/block_00/igate_pre", DType::F32, {H, T}, g, "H,T"));
    std::vector<int64_t> tok(T);
    for (size_t i = 0; i < T; ++i)
        tok[i] = static_cast<int64_t>(i) + seed;
    w.put(make_chunk("tokens", DType::I64, {T}, tok, "T"));
    w.put(make_chunk("misc/i32", DType::I32, {2}, std::vector<int32_t>{-5, 7}, "X"));
    w.put(make_chunk("misc/u8", DType::U8, {3}, std::vector<uint8_t>{1, 2, 255}, "X"));
    Chunk s;
    s.path = "token_strings";
    s.strings = {"a", "\xc3\xa9", ""};
    s.shape = {3};
    w.put(std::move(s));
    w.commit_sample();
}

WriterOptions options(const std::string& path) {
    WriterOptions o;
    o.path = path;
    o.attrs["producer"] = "capture_store_test";
    return o;
}

TEST(CaptureStore, RoundTripEveryDatasetAndAttribute) {
    const std::string path = dxl::test::scratch_dir("cap") + "/run.h5";
    {
        CaptureWriter w(options(path));
        EXPECT_EQ(w.filter(), dxl::h5::Filter::ShuffleLzf)
            << "hdf5-plugin-lzf should be installed (scripts/setup.sh)";
        write_sample(w, 0);
        write_sample(w, 1);
        w.finish();
        EXPECT_EQ(w.stats().committed, 2);
    }
    EXPECT_FALSE(fs::exists(path + ".partial"));
    CaptureReader r(path);
    EXPECT_EQ(r.num_samples(), 2);
    EXPECT_EQ(r.status(), "complete");
    EXPECT_EQ(r.attr("producer"), "capture_store_test");
    EXPECT_EQ(r.attr("format"), "dxl-capture");
    EXPECT_EQ(r.attr("compression_filter"), "shuffle-lzf");
    EXPECT_EQ(r.datasets(1),
              (std::vector<std::string>{"misc/i32", "misc/u8", "student/block_00/igate_pre",
                                        "teacher/layer_00/attn_probs", "token_strings", "tokens"}));
    const auto info = r.info(1, "teacher/layer_00/attn_probs");
    EXPECT_EQ(info.type, "float16");
    EXPECT_EQ(info.dims, (dxl::h5::Dims{3, 40, 40}));
    EXPECT_EQ(info.chunk, (dxl::h5::Dims{1, 40, 40}));  // one (sample, head) map per chunk
    EXPECT_EQ(info.filter, dxl::h5::Filter::ShuffleLzf);
    EXPECT_EQ(r.dataset_attr(1, "teacher/layer_00/attn_probs", "dims"), "H,T,T");
    EXPECT_EQ(r.dataset_attr(1, "teacher/layer_00/attn_probs", "interpretation"), "image");
    EXPECT_EQ(r.heads(1, "teacher/layer_00/attn_probs"), (std::vector<int64_t>{0, 2, 5}));
    EXPECT_EQ(r.root().attr_string("NX_class", "sample_000001/teacher/layer_00"), "NXdata");
    EXPECT_EQ(r.root().attr_string("signal", "sample_000001/teacher/layer_00"), "attn_probs");
    EXPECT_EQ(r.root().attr_string("default"), "sample_000000");
    EXPECT_EQ(r.root().attr_string("default", "sample_000000"), "teacher/layer_00");

    // Values: full read and a lazy slice (head 2, rows 5..7) agree with what was written.
    const auto all = r.read_float(1, "teacher/layer_00/attn_probs");
    ASSERT_EQ(all.size(), 3u * 40 * 40);
    for (size_t i = 0; i < all.size(); i += 97) {
        EXPECT_NEAR(all[i], static_cast<float>((i * 7 + 1) % 1000) / 1000.f, 5e-4) << i;
    }
    const auto slice = r.read_float(1, "teacher/layer_00/attn_probs", {2, 5, 0}, {1, 3, 40});
    ASSERT_EQ(slice.size(), 120u);
    for (size_t i = 0; i < slice.size(); ++i)
        EXPECT_EQ(slice[i], all[2 * 1600 + 5 * 40 + i]);
    const auto g = r.read_float(0, "student/block_00/igate_pre");
    EXPECT_EQ(g[7], 0.5f);  // f32 exact
    EXPECT_EQ(r.read_int(1, "tokens")[3], 4);
    EXPECT_EQ(r.read_int(0, "misc/i32"), (std::vector<int64_t>{-5, 7}));
    EXPECT_EQ(r.read_int(0, "misc/u8"), (std::vector<int64_t>{1, 2, 255}));
    EXPECT_EQ(r.read_strings(0, "token_strings"), (std::vector<std::string>{"a", "\xc3\xa9", ""}));
    EXPECT_THROW(r.read_float(0, "teacher/layer_00/attn_probs", {2, 39, 0}, {1, 2, 40}),
                 dxl::ShapeError);
    EXPECT_THROW(r.read_float(2, "tokens"), dxl::ValueError);

    const IntegrityReport rep = r.verify();
    EXPECT_TRUE(rep.ok);
    EXPECT_EQ(rep.verified, 2);
}

TEST(CaptureStore, HalfConversionIsExactForEveryBitPattern) {
    std::vector<uint16_t> all(65536);
    for (uint32_t i = 0; i < 65536; ++i)
        all[i] = static_cast<uint16_t>(i);
    std::vector<float> ours(65536);
    half_to_float(all.data(), ours.data(), all.size());
    // Reference: HDF5's own conversion of the custom IEEE half type.
    std::vector<float> ref(65536);
    ASSERT_GE(H5Tconvert(
                  dxl::h5::float16_type(), H5T_NATIVE_FLOAT, 65536,
                  [&] {
                      std::memcpy(ref.data(), all.data(), 65536 * 2);
                      return ref.data();
                  }(),
                  nullptr, H5P_DEFAULT),
              0);
    int mismatches = 0;
    for (uint32_t i = 0; i < 65536; ++i) {
        const bool both_nan = std::isnan(ours[i]) && std::isnan(ref[i]);
        if (!both_nan && ours[i] != ref[i]) ++mismatches;
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(ours[0x3c00], 1.0f);
    EXPECT_EQ(ours[0x0001], std::ldexp(1.0f, -24));
}

TEST(CaptureStore, ChunkShapesStayWithinOneMap) {
    EXPECT_EQ(chunk_shape({12, 512, 512}, 2), (std::vector<uint64_t>{1, 512, 512}));
    EXPECT_EQ(chunk_shape({12, 2048, 2048}, 2), (std::vector<uint64_t>{1, 256, 2048}));
    EXPECT_EQ(chunk_shape({4, 3, 8, 8}, 4), (std::vector<uint64_t>{1, 1, 8, 8}));
    EXPECT_EQ(chunk_shape({40}, 8), (std::vector<uint64_t>{40}));
}

TEST(CaptureStore, AbandonedWriterLeavesCommittedSamplesAndRepairKeepsExactlyThem) {
    const std::string dir = dxl::test::scratch_dir("cap_abandon");
    const std::string path = dir + "/run.h5";
    {
        CaptureWriter w(options(path));
        write_sample(w, 0);
        write_sample(w, 1);
        w.begin_sample();  // never committed
        w.put(make_chunk("tokens", DType::I64, {2}, std::vector<int64_t>{1, 2}, "T"));
    }  // destroyed without finish(): like an interrupted run
    ASSERT_FALSE(fs::exists(path));
    ASSERT_TRUE(fs::exists(path + ".partial"));
    {
        CaptureReader partial(path + ".partial");
        EXPECT_EQ(partial.num_samples(), 2);
        EXPECT_EQ(partial.status(), "writing");
        EXPECT_EQ(partial.verify().uncommitted, (std::vector<std::string>{"sample_000002"}));
    }
    // A second capture to the same name refuses to overwrite the recoverable partial file.
    EXPECT_THROW(CaptureWriter w(options(path)), dxl::IoError);
    const RepairReport rep = repair_capture(path + ".partial", path, true);
    EXPECT_EQ(rep.kept, 2);
    EXPECT_EQ(rep.dropped, 1);
    EXPECT_FALSE(fs::exists(path + ".partial"));
    CaptureReader r(path);
    EXPECT_EQ(r.num_samples(), 2);
    EXPECT_EQ(r.status(), "recovered");
    EXPECT_EQ(r.attr("producer"), "capture_store_test");
    EXPECT_TRUE(r.verify().ok);
    EXPECT_TRUE(r.verify().uncommitted.empty());
}

// A kill inside the manifest flush can leave the count attribute ahead of the entries, or an
// entry naming a group whose link never reached the disk. The strict reader rejects such a
// file; repair keeps the consistent prefix and says what it cut.
TEST(CaptureStore, RepairSalvagesAManifestCutShortByAKill) {
    const std::string dir = dxl::test::scratch_dir("cap_salvage");
    const std::string path = dir + "/run.h5";
    {
        CaptureWriter w(options(path));
        write_sample(w, 0);
        write_sample(w, 1);
        write_sample(w, 2);
    }
    {
        dxl::h5::File f(path + ".partial", dxl::h5::File::Mode::ReadWrite);
        f.root().set_attr("count", int64_t{5}, "manifest");  // 3 entries on disk
    }
    EXPECT_THROW(CaptureReader r(path + ".partial"), dxl::FormatError);
    {
        CaptureReader s(path + ".partial", CaptureReader::Open::Salvage);
        EXPECT_EQ(s.num_samples(), 3);
        ASSERT_EQ(s.salvage_notes().size(), 1u);
        EXPECT_NE(s.salvage_notes()[0].find("count 5 exceeds its entries (3)"), std::string::npos);
    }
    {
        dxl::h5::File f(path + ".partial", dxl::h5::File::Mode::ReadWrite);
        f.root().set_attr("count", int64_t{3}, "manifest");
        f.root().remove("sample_000001");  // committed, but its link is gone
    }
    fs::remove(journal_path(path + ".partial"));  // the manifest alone (a file from before it)
    EXPECT_THROW(CaptureReader r(path + ".partial"), dxl::FormatError);
    const RepairReport rep = repair_capture(path + ".partial", path, true);
    EXPECT_EQ(rep.kept, 1);
    ASSERT_FALSE(rep.notes.empty());
    EXPECT_NE(rep.notes[0].find("entry 1 names a missing sample group"), std::string::npos);
    CaptureReader r(path);
    EXPECT_EQ(r.num_samples(), 1);
    EXPECT_TRUE(r.verify().ok);
    EXPECT_TRUE(r.verify().uncommitted.empty());
}

// A kill inside an HDF5 flush can tear the root group's links and the manifest together. The
// commit journal names every committed sample group by address, so repair still keeps them all;
// a torn last journal line is ignored; a finished capture leaves no journal behind.
TEST(CaptureStore, RepairReachesCommittedSamplesThroughTheJournal) {
    const std::string dir = dxl::test::scratch_dir("cap_journal");
    const std::string path = dir + "/run.h5";
    {
        CaptureWriter w(options(path));
        write_sample(w, 0);
        write_sample(w, 1);
        write_sample(w, 2);
    }
    const std::string partial = path + ".partial";
    ASSERT_EQ(read_journal(journal_path(partial)).size(), 3u);
    {
        std::ofstream torn(journal_path(partial), std::ios::app);
        torn << "dxl-journal-v1 3 12";  // killed in the middle of a line
    }
    EXPECT_EQ(read_journal(journal_path(partial)).size(), 3u);
    {
        dxl::h5::File f(partial, dxl::h5::File::Mode::ReadWrite);
        // Keep the objects alive under other names, then lose the links and the manifest.
        for (int i = 0; i < 3; ++i)
            ASSERT_GE(
                H5Lcreate_hard(f.root().id(), sample_group_name(i).c_str(), f.root().id(),
                               ("kept_" + std::to_string(i)).c_str(), H5P_DEFAULT, H5P_DEFAULT),
                0);
        f.root().remove("manifest");
        f.root().remove("sample_000000");
        f.root().remove("sample_000002");
    }
    EXPECT_THROW(CaptureReader r(partial), dxl::FormatError);
    const RepairReport rep = repair_capture(partial, path, true);
    EXPECT_EQ(rep.kept, 3);
    EXPECT_FALSE(fs::exists(partial));
    EXPECT_FALSE(fs::exists(journal_path(partial)));
    CaptureReader r(path);
    ASSERT_EQ(r.num_samples(), 3);
    EXPECT_TRUE(r.verify().ok);
    EXPECT_EQ(r.read_int(2, "tokens")[0], 2);
    // A finished capture removes its journal.
    const std::string done = dir + "/done.h5";
    {
        CaptureWriter w(options(done));
        write_sample(w, 0);
        w.finish();
    }
    EXPECT_FALSE(fs::exists(journal_path(done + ".partial")));
}

// Writers open files CrashConsistent: the file records the never-reuse space strategy (so a
// later append keeps it) and stays an ordinary HDF5 file for any reader.
TEST(CaptureStore, CrashConsistentFilesRecordTheSpaceStrategy) {
    const std::string path = dxl::test::scratch_dir("cap_strategy") + "/run.h5";
    {
        CaptureWriter w(options(path));
        write_sample(w, 0);
        w.finish();
    }
    const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    const hid_t fcpl = H5Fget_create_plist(f);
    H5F_fspace_strategy_t strategy{};
    hbool_t persist = 0;
    hsize_t threshold = 0;
    ASSERT_GE(H5Pget_file_space_strategy(fcpl, &strategy, &persist, &threshold), 0);
    EXPECT_EQ(strategy, H5F_FSPACE_STRATEGY_NONE);
    H5Pclose(fcpl);
    H5Fclose(f);
}

TEST(CaptureStore, AppendAddsSamplesToAFinishedFile) {
    const std::string path = dxl::test::scratch_dir("cap_append") + "/run.h5";
    {
        CaptureWriter w(options(path));
        write_sample(w, 0);
        w.finish();
    }
    {
        WriterOptions o = options(path);
        o.append = true;
        CaptureWriter w(o);
        write_sample(w, 5);
        write_sample(w, 6);
        w.finish();
    }
    CaptureReader r(path);
    ASSERT_EQ(r.num_samples(), 3);
    EXPECT_EQ(r.read_int(2, "tokens")[0], 6);
    EXPECT_TRUE(r.verify().ok);
    WriterOptions missing = options(path + ".none.h5");
    missing.append = true;
    EXPECT_THROW(CaptureWriter w(missing), dxl::IoError);
}

TEST(CaptureStore, IncompressibleDataStillWrites) {
    const std::string path = dxl::test::scratch_dir("cap_noise") + "/run.h5";
    std::mt19937 rng(3);
    std::vector<uint32_t> noise(64 * 1024);
    for (auto& x : noise)
        x = rng();
    {
        CaptureWriter w(options(path));
        w.begin_sample();
        w.put(make_chunk("noise", DType::F32, {noise.size()}, noise, "N"));
        w.commit_sample();
        w.finish();
    }
    CaptureReader r(path);
    const auto back = r.read_float(0, "noise");
    EXPECT_EQ(std::memcmp(back.data(), noise.data(), noise.size() * 4), 0);
}

TEST(CaptureStore, ForeignDamagedAndNewerFilesGiveTypedErrors) {
    const std::string dir = dxl::test::scratch_dir("cap_bad");
    {  // not HDF5
        std::ofstream(dir + "/text.h5") << "hello";
        EXPECT_THROW(CaptureReader r(dir + "/text.h5"), dxl::FormatError);
    }
    {  // HDF5 but not ours
        dxl::h5::File f(dir + "/other.h5", dxl::h5::File::Mode::Truncate);
        f.root().set_attr("format", "something-else");
    }
    EXPECT_THROW(CaptureReader r(dir + "/other.h5"), dxl::FormatError);
    {
        dxl::h5::File f(dir + "/newer.h5", dxl::h5::File::Mode::Truncate);
        f.root().set_attr("format", "dxl-capture");
        f.root().set_attr("schema_version", int64_t{99});
    }
    EXPECT_THROW(CaptureReader r(dir + "/newer.h5"), dxl::UnsupportedVersion);
    EXPECT_THROW(CaptureReader r(dir + "/missing.h5"), dxl::IoError);

    // Truncations and bit flips of a good file: a typed error or a failed integrity check, never a
    // crash.
    const std::string good = dir + "/good.h5";
    {
        CaptureWriter w(options(good));
        write_sample(w, 0);
        write_sample(w, 1);
        w.finish();
    }
    std::ifstream in(good, std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    const std::string bytes = buf.str();
    std::mt19937 rng(11);
    int detected = 0;
    const int trials = 40;
    for (int i = 0; i < trials; ++i) {
        std::string damaged = bytes;
        if (i % 2 == 0) {
            damaged.resize(rng() % bytes.size());
        } else {
            // Flip a byte in the payload region (past the superblock and root metadata).
            const size_t at = 2048 + rng() % (bytes.size() - 2048);
            damaged[at] = static_cast<char>(damaged[at] ^ (1 << (rng() % 8)));
        }
        const std::string p = dir + "/damaged_" + std::to_string(i) + ".h5";
        std::ofstream(p, std::ios::binary) << damaged;
        try {
            CaptureReader r(p);
            const IntegrityReport rep = r.verify();
            if (!rep.ok) ++detected;
        } catch (const dxl::Error&) {
            ++detected;
        }
    }
    // Every truncation is detected; a flip can land in unused bytes (padding, free space).
    EXPECT_GE(detected, trials / 2);
}

}  // namespace
