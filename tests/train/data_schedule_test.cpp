// Tests of the torch-free parts of the distillation engine: corpora and the UTF-8 policy, synthetic
// tasks,
// packing/shuffling/held-out split, Δ-schedules (docs/method.md#schedules), the CRC-framed run log
// and run-config presets.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "core/base/error.h"
#include "core/data/corpus.h"
#include "core/data/dataset.h"
#include "core/data/synthetic.h"
#include "core/io/tokenizer.h"
#include "core/train/run_folder.h"
#include "core/train/run_log.h"
#include "core/train/schedule.h"
#include "core/train/train_config.h"
#include "tests/support/test_paths.h"

namespace fs = std::filesystem;
using namespace dxl;

TEST(Corpus, SplitStrfile) {
    auto d = data::split_strfile("one\nline\n%\ntwo\n%\n%\nthree\r\n%\r\n");
    ASSERT_EQ(d.size(), 3u);
    EXPECT_EQ(d[0], "one\nline\n");
    EXPECT_EQ(d[1], "two\n");
    EXPECT_EQ(d[2], "three\n");
}

TEST(Corpus, ReadsTheDebianFortunes) {
    if (!fs::exists(data::kFortunesDir)) GTEST_SKIP() << "package fortunes not installed";
    auto docs = data::read_fortunes();
    EXPECT_GT(docs.size(), 5000u);
    for (const auto& d : docs)
        EXPECT_EQ(d.find("\n%\n"), std::string::npos);
}

TEST(Corpus, Utf8CountingAndPolicies) {
    EXPECT_EQ(data::count_invalid_utf8("plain ascii"), 0);
    EXPECT_EQ(data::count_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), 0);
    EXPECT_EQ(data::count_invalid_utf8("a\xFF"
                                       "b"),
              1);
    EXPECT_EQ(data::count_invalid_utf8("\xC0\xAF"), 2);      // overlong
    EXPECT_EQ(data::count_invalid_utf8("\xED\xA0\x80"), 3);  // surrogate
    EXPECT_EQ(data::count_invalid_utf8("\xE2\x82"), 2);      // truncated
    EXPECT_EQ(data::replace_invalid_utf8("a\xFF"
                                         "b"),
              "a\xEF\xBF\xBD"
              "b");
    for (auto policy :
         {data::Utf8Policy::Keep, data::Utf8Policy::Replace, data::Utf8Policy::Skip}) {
        std::vector<std::string> docs{"ok", "bad\xFF\xFE", ""};
        data::CorpusStats st;
        data::apply_utf8_policy(docs, policy, st);
        EXPECT_EQ(st.n_invalid_documents, 1);
        EXPECT_EQ(st.n_invalid_bytes, 2);
        EXPECT_EQ(st.n_documents, policy == data::Utf8Policy::Skip ? 1 : 2);
        EXPECT_EQ(st.n_skipped, policy == data::Utf8Policy::Skip ? 2 : 1);  // + the empty document
        if (policy == data::Utf8Policy::Keep) {
            EXPECT_EQ(docs[1], "bad\xFF\xFE");
        }
        if (policy == data::Utf8Policy::Replace) {
            EXPECT_EQ(data::count_invalid_utf8(docs[1]), 0);
        }
    }
    std::vector<std::string> docs{"bad\xFF"};
    data::CorpusStats st;
    EXPECT_THROW(data::apply_utf8_policy(docs, data::Utf8Policy::Error, st), FormatError);
}

TEST(Corpus, JsonlAndTextFolders) {
    const std::string dir = test::scratch_dir("train_jsonl");
    {
        std::ofstream o(dir + "/a.jsonl");
        o << "{\"text\": \"hello\", \"id\": 1}\n\n{\"text\": \"world\"}\n";
        std::ofstream b(dir + "/bad.jsonl");
        b << "{\"text\": \"x\"}\n{\"body\": 3}\n";
        fs::create_directories(dir + "/txt/sub");
        std::ofstream(dir + "/txt/b.txt") << "bee";
        std::ofstream(dir + "/txt/sub/a.txt") << "ay";
    }
    auto d = data::read_jsonl(dir + "/a.jsonl");
    ASSERT_EQ(d.size(), 2u);
    EXPECT_EQ(d[1], "world");
    try {
        data::read_jsonl(dir + "/bad.jsonl");
        FAIL() << "expected FormatError";
    } catch (const FormatError& e) {
        EXPECT_NE(std::string(e.what()).find("bad.jsonl:2"), std::string::npos) << e.what();
    }
    auto t = data::read_text_path(dir + "/txt");
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0], "bee");  // sorted paths: b.txt < sub/a.txt
}

TEST(Synthetic, MqarAnswersAreTheStoredValues) {
    data::SyntheticVocab v;  // byte letters
    data::SyntheticOptions o;
    o.n_pairs = 6;
    o.n_queries = 10;
    for (uint64_t i = 0; i < 50; ++i) {
        data::Sample s = data::make_synthetic(o, v, 64, 7, i);
        ASSERT_EQ(s.tokens.size(), 64u);
        // Independent parse: pairs before the separator, queries after it.
        std::map<int64_t, int64_t> kv;
        size_t p = 0;
        while (s.tokens[p] != v.separator) {
            kv[s.tokens[p]] = s.tokens[p + 1];
            p += 2;
        }
        EXPECT_EQ(kv.size(), 6u);  // distinct keys
        int scored = 0;
        for (size_t q = p + 1; q < s.tokens.size(); ++q) {
            if (!s.score[q]) continue;
            ++scored;
            ASSERT_TRUE(kv.count(s.tokens[q - 1]));
            EXPECT_EQ(s.tokens[q], kv[s.tokens[q - 1]]);
        }
        EXPECT_EQ(scored, 10);
        EXPECT_EQ(s.valid.back(), 0);  // padded
    }
    EXPECT_EQ(data::make_synthetic(o, v, 64, 7, 3).tokens,
              data::make_synthetic(o, v, 64, 7, 3).tokens);
    EXPECT_NE(data::make_synthetic(o, v, 64, 7, 3).tokens,
              data::make_synthetic(o, v, 64, 8, 3).tokens);
    EXPECT_THROW(data::make_synthetic(o, v, 16, 7, 0), ValueError);
}

TEST(Synthetic, InductionWithVariableLengthsCopiesAtVaryingOffsets) {
    data::SyntheticVocab v;  // byte letters
    data::SyntheticOptions o;
    o.task = data::SyntheticTask::Induction;
    o.copy_length = 20;
    o.min_copy_length = 5;
    std::set<size_t> lengths;
    for (uint64_t i = 0; i < 200; ++i) {
        const data::Sample s = data::make_synthetic(o, v, 48, 3, i);
        size_t sep = 0;  // the segment is s.tokens[0, sep), its copy follows the separator
        while (s.tokens[sep] != v.separator)
            ++sep;
        ASSERT_GE(sep, 5u);
        ASSERT_LE(sep, 20u);
        lengths.insert(sep);
        for (size_t j = 0; j < sep; ++j) {
            EXPECT_EQ(s.tokens[sep + 1 + j], s.tokens[j]);
            EXPECT_EQ(s.score[sep + 1 + j], j > 0 ? 1 : 0);
        }
        EXPECT_EQ(s.valid[2 * sep + 1], 0);  // padding after the copy
    }
    EXPECT_EQ(lengths.size(), 16u);  // every length in [5, 20] occurs
    o.min_copy_length = 21;
    EXPECT_THROW(data::make_synthetic(o, v, 48, 3, 0), ValueError);
}

TEST(Synthetic, InductionCopies) {
    data::SyntheticOptions o;
    o.task = data::SyntheticTask::Induction;
    o.copy_length = 12;
    auto v = data::synthetic_vocab_for(97, false);
    data::Sample s = data::make_synthetic(o, v, 40, 1, 5);
    for (size_t i = 0; i < 12; ++i)
        EXPECT_EQ(s.tokens[i], s.tokens[13 + i]);
    EXPECT_EQ(std::count(s.score.begin(), s.score.end(), 1), 11);
    for (auto t : s.tokens)
        EXPECT_LT(t, 97);
}

TEST(Dataset, PackedShuffledSplitAndDeterministic) {
    if (!fs::exists(data::kFortunesDir)) GTEST_SKIP() << "package fortunes not installed";
    auto tok = io::make_byte_tokenizer();
    data::DataConfig c = data::parse_data_spec("fortunes+mqar@0.25");
    c.seq_len = 32;
    c.max_documents = 400;
    c.heldout_fraction = 0.1;
    data::Dataset ds(c, tok.get(), 259);
    const int64_t nt = ds.n_text_sequences(data::Split::Train);
    EXPECT_GT(nt, 100);
    EXPECT_GT(ds.n_text_sequences(data::Split::Heldout), 5);
    EXPECT_NEAR(static_cast<double>(ds.size(data::Split::Train) - nt) / ds.size(data::Split::Train),
                0.25, 0.01);
    // Held-out text never appears in the training split.
    std::set<std::vector<int64_t>> train_seqs;
    for (int64_t i = 0; i < ds.size(data::Split::Train); ++i)
        train_seqs.insert(ds.sample(data::Split::Train, 0, i).tokens);
    for (int64_t i = 0; i < ds.n_text_sequences(data::Split::Heldout); ++i)
        EXPECT_FALSE(train_seqs.count(ds.sample(data::Split::Heldout, 0, i).tokens));
    // Deterministic per (seed, epoch); epochs differ; a fresh dataset reproduces it.
    data::Dataset ds2(c, tok.get(), 259);
    auto b0 = ds.batch(data::Split::Train, 0, 8, 4), b0b = ds2.batch(data::Split::Train, 0, 8, 4);
    auto b1 = ds.batch(data::Split::Train, 1, 8, 4);
    EXPECT_EQ(b0.input, b0b.input);
    EXPECT_NE(b0.input, b1.input);
    for (int64_t i = 0; i + 1 < 32; ++i)
        EXPECT_EQ(b0.target[static_cast<size_t>(i)], b0.input[static_cast<size_t>(i + 1)]);
    // The cursor wraps into the next epoch instead of serving a short batch.
    data::DataCursor cur;
    const int64_t N = ds.size(data::Split::Train);
    int64_t steps = 0;
    while (cur.epoch == 0) {
        ds.take(cur, 16);
        ++steps;
    }
    EXPECT_EQ(steps, N / 16 + 1);
    EXPECT_EQ(cur.position, 16);
}

TEST(Dataset, SpecParsing) {
    auto c = data::parse_data_spec("jsonl:/x/y.jsonl#body+induction@0.1");
    ASSERT_EQ(c.sources.size(), 2u);
    EXPECT_EQ(c.sources[0].kind, "jsonl");
    EXPECT_EQ(c.sources[0].path, "/x/y.jsonl");
    EXPECT_EQ(c.sources[0].field, "body");
    EXPECT_DOUBLE_EQ(c.sources[1].weight, 0.1);
    EXPECT_THROW(data::parse_data_spec("books"), UsageError);
    EXPECT_THROW(data::parse_data_spec("text"), UsageError);
}

TEST(Dataset, SyntheticOptionsInTheSpec) {
    auto c =
        data::parse_data_spec("fortunes+induction:copy_length=60@0.4+mqar:n_pairs=4,n_queries=2");
    ASSERT_EQ(c.sources.size(), 3u);
    EXPECT_EQ(c.sources[1].synthetic.task, data::SyntheticTask::Induction);
    EXPECT_EQ(c.sources[1].synthetic.copy_length, 60);
    EXPECT_DOUBLE_EQ(c.sources[1].weight, 0.4);
    EXPECT_TRUE(c.sources[1].path.empty());
    EXPECT_EQ(c.sources[2].synthetic.n_pairs, 4);
    EXPECT_EQ(c.sources[2].synthetic.n_queries, 2);
    EXPECT_EQ(c.sources[2].synthetic.copy_length, 16);  // untouched default
    for (const char* bad : {"induction:copy_len=60", "induction:copy_length=", "mqar:n_pairs=0",
                            "mqar:n_pairs=4x", "induction:copy_length"})
        EXPECT_THROW(data::parse_data_spec(bad), UsageError) << bad;
}

TEST(Schedule, DeltaMatchesTheMethodTable) {
    train::Schedule a{train::ScheduleKind::Delta,        0.8,  0.5,
                      train::EpochDecay::Multiplicative, 0.05, 0};
    const double alpha[] = {0.800, 0.677, 0.588, 0.553, 0.544, 0.533};
    const int64_t ks[] = {0, 1, 10, 100, 313, 3125};
    for (int i = 0; i < 6; ++i)
        EXPECT_NEAR(a.value(0, ks[i], ks[i], 0), alpha[i], 5e-4) << "k=" << ks[i];
    train::Schedule t{train::ScheduleKind::Delta,        2.0,  1.0,
                      train::EpochDecay::Multiplicative, 0.05, 0};
    const double temp[] = {2.000, 1.591, 1.294, 1.178, 1.148, 1.111};
    for (int i = 0; i < 6; ++i)
        EXPECT_NEAR(t.value(0, ks[i], ks[i], 0), temp[i], 5e-4) << "k=" << ks[i];
    // Epoch-start values: multiplicative 0.80, 0.76, 0.722, 0.686; T 2.0, 1.9, 1.805.
    EXPECT_NEAR(a.epoch_start(1), 0.76, 1e-12);
    EXPECT_NEAR(a.epoch_start(2), 0.722, 1e-12);
    EXPECT_NEAR(a.epoch_start(3), 0.6859, 1e-12);
    EXPECT_NEAR(t.epoch_start(2), 1.805, 1e-12);
    EXPECT_NEAR(a.value(1, 0, 999, 0), 0.76, 1e-12);  // sawtooth: restarts at the new v_0
    EXPECT_NEAR(a.epoch_start(100), 0.5, 1e-12);      // never past v_f
    train::Schedule s = a;
    s.decay = train::EpochDecay::Subtractive;
    EXPECT_NEAR(s.epoch_start(1), 0.75, 1e-12);
    EXPECT_NEAR(s.epoch_start(7), 0.5, 1e-12);
}

TEST(Schedule, LinearCosineAndLr) {
    train::Schedule l{train::ScheduleKind::Linear, 1.0, 0.0, train::EpochDecay::None, 0, 0};
    EXPECT_DOUBLE_EQ(l.value(0, 0, 0, 11), 1.0);
    EXPECT_DOUBLE_EQ(l.value(0, 0, 5, 11), 0.5);
    EXPECT_DOUBLE_EQ(l.value(0, 0, 10, 11), 0.0);
    train::Schedule c{train::ScheduleKind::Cosine, 1.0, 0.0, train::EpochDecay::None, 0, 0};
    EXPECT_NEAR(c.value(0, 0, 5, 11), 0.5, 1e-12);
    EXPECT_NEAR(c.value(0, 0, 1, 11), 0.5 * (1 + std::cos(M_PI * 0.1)), 1e-12);
    EXPECT_DOUBLE_EQ(train::cosine_lr(1.0, 0, 100, 10, 0.0), 0.1);
    EXPECT_DOUBLE_EQ(train::cosine_lr(1.0, 9, 100, 10, 0.0), 1.0);
    EXPECT_NEAR(train::cosine_lr(1.0, 55, 100, 10, 0.0), 0.5, 1e-12);
    EXPECT_NEAR(train::cosine_lr(1.0, 100, 100, 10, 0.1), 0.1, 1e-12);
    auto p = train::parse_schedule(
        nlohmann::json::parse(R"({"kind":"delta","start":0.3,"end":0.2,"delta":0.025})"), "x");
    EXPECT_EQ(p.kind, train::ScheduleKind::Delta);
    EXPECT_DOUBLE_EQ(p.delta, 0.025);
    EXPECT_THROW(train::parse_schedule(nlohmann::json::parse(R"({"kind":"exp"})"), "x"),
                 FormatError);
}

TEST(RunLog, Crc32cKnownValue) {
    EXPECT_EQ(train::crc32c("123456789", 9), 0xE3069283u);  // the CRC-32C check value
}

TEST(RunLog, AppendReadTailSafeAndTruncate) {
    const std::string path = test::scratch_dir("train_runlog") + "/log.dxlrec";
    fs::remove(path);
    std::vector<int64_t> sizes;
    {
        train::RunLogWriter w(path);
        for (int i = 0; i < 5; ++i) {
            w.append({{"kind", "train"}, {"step", i + 1}, {"metrics", {{"loss", 1.0 / (i + 1)}}}});
            sizes.push_back(w.size());
        }
    }
    auto r = train::read_run_log(path);
    ASSERT_EQ(r.records.size(), 5u);
    EXPECT_EQ(r.end_offset, sizes.back());
    EXPECT_FALSE(r.corrupt_tail);
    // A reader tailing a half-written record sees only the complete ones, at every cut.
    std::string bytes(static_cast<size_t>(fs::file_size(path)), '\0');
    {
        std::ifstream in(path, std::ios::binary);
        in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    }
    for (size_t cut = 0; cut < bytes.size(); cut += 7) {
        std::ofstream(path + ".part", std::ios::binary) << bytes.substr(0, cut);
        auto p = train::read_run_log(path + ".part");
        size_t complete = 0;
        while (complete < sizes.size() && static_cast<size_t>(sizes[complete]) <= cut)
            ++complete;
        EXPECT_EQ(p.records.size(), complete) << "cut " << cut;
        EXPECT_FALSE(p.corrupt_tail);
    }
    // Incremental tail from an offset.
    auto tail = train::read_run_log(path, sizes[2]);
    ASSERT_EQ(tail.records.size(), 2u);
    EXPECT_EQ(tail.records[0]["step"], 4);
    // A flipped payload byte is detected.
    std::string bad = bytes;
    bad[static_cast<size_t>(sizes[1]) + 20] ^= 0x5A;
    std::ofstream(path + ".bad", std::ios::binary) << bad;
    auto b = train::read_run_log(path + ".bad");
    EXPECT_EQ(b.records.size(), 2u);
    EXPECT_TRUE(b.corrupt_tail);
    // Resume: truncate to the offset a checkpoint recorded, then append.
    {
        train::RunLogWriter w(path, sizes[1]);
        w.append({{"kind", "train"}, {"step", 3}, {"metrics", {{"loss", 9.0}}}});
    }
    auto t = train::read_run_log(path);
    ASSERT_EQ(t.records.size(), 3u);
    EXPECT_EQ(t.records[2]["metrics"]["loss"], 9.0);
    const std::string csv = train::export_csv(t.records, "train");
    EXPECT_EQ(csv.substr(0, 10), "step,loss\n");
    EXPECT_NE(csv.find("3,9\n"), std::string::npos) << csv;
}

TEST(RunLog, ResumeCutsAtAWholeRecordAndNeverPads) {
    const std::string path = test::scratch_dir("train_runlog_cut") + "/log.dxlrec";
    auto write = [&](int n) {
        fs::remove(path);
        std::vector<int64_t> ends;
        train::RunLogWriter w(path);
        for (int i = 0; i < n; ++i) {
            w.append({{"kind", "train"}, {"step", i + 1}, {"metrics", {{"loss", 0.5 * i}}}});
            ends.push_back(w.size());
        }
        return ends;
    };
    // The log was truncated mid-record after the checkpoint (offset ends[3]) was taken.
    auto ends = write(5);
    fs::resize_file(path, static_cast<uintmax_t>(ends[1] + 9));
    {
        train::RunLogWriter w(path, ends[3]);
        EXPECT_EQ(w.size(), ends[1]);  // cut back to record 2, not padded up to ends[3]
        w.append({{"kind", "event"}, {"step", 4}, {"event", "resume"}});
    }
    auto r = train::read_run_log(path);
    ASSERT_EQ(r.records.size(), 3u);
    EXPECT_FALSE(r.corrupt_tail);
    EXPECT_EQ(r.records[2]["event"], "resume");
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(path)), r.end_offset);
    // Deleted: starts empty instead of ends[3] zero bytes.
    fs::remove(path);
    { train::RunLogWriter w(path, ends[3]); }
    EXPECT_EQ(fs::file_size(path), 0u);
    // A flipped byte inside record 2: cut before it.
    ends = write(5);
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(ends[1] + 14);
        f.put('#');
    }
    { train::RunLogWriter w(path, ends[4]); }
    EXPECT_EQ(static_cast<int64_t>(fs::file_size(path)), ends[1]);
    EXPECT_EQ(train::last_record_end(path, ends[1] - 1), ends[0]);
}

TEST(RunFolder, LockAndNoSilentOverwrite) {
    const std::string dir = test::scratch_dir("train_run_folder") + "/run";
    fs::remove_all(dir);
    {
        train::RunFolderLock first(dir);
        EXPECT_THROW(train::RunFolderLock second(dir), IoError);  // a second writer is refused
    }
    train::RunFolderLock again(dir);              // released with the first
    train::prepare_fresh_run_folder(dir, false);  // empty: nothing to protect
    std::ofstream(dir + "/run.dxlrec") << "x";
    fs::create_directories(dir + "/checkpoints/step_00000010");
    EXPECT_THROW(train::prepare_fresh_run_folder(dir, false), UsageError);
    EXPECT_TRUE(fs::exists(dir + "/run.dxlrec"));
    train::prepare_fresh_run_folder(dir, true);
    EXPECT_FALSE(fs::exists(dir + "/run.dxlrec"));
    EXPECT_FALSE(fs::exists(dir + "/checkpoints"));
}

TEST(RunConfig, EveryFieldIsChecked) {
    auto mk = [](const std::string& extra) {
        return train::parse_run_config(
            nlohmann::json::parse(R"({"preset": "distil-xlstm", "teacher": "t")" + extra + "}"),
            "cfg");
    };
    EXPECT_NO_THROW(mk(""));
    for (const char* bad :
         {R"(, "batch_size": 0)", R"(, "eval_every": -1)", R"(, "keep_last": -2)",
          R"(, "out_dir": "")", R"(, "nonfinite": {"lr_factor": 0})",
          R"(, "nonfinite": {"max_consecutive": 0})", R"(, "memory_budget_mb": -5)",
          R"(, "stage_overrides": {"warmup_fraction": 1.5})",
          R"(, "stage_overrides": {"beta2": 1.0})", R"(, "stage_overrides": {"eps": 0})",
          R"(, "stage_overrides": {"steps": -3})"})
        EXPECT_THROW(mk(bad), FormatError) << bad;
}

TEST(RunConfig, PresetsAndErrors) {
    auto mk = [](const std::string& s) {
        return train::parse_run_config(nlohmann::json::parse(s), "cfg");
    };
    auto c = mk(R"({"preset": "mohawk", "teacher": "t"})");
    ASSERT_EQ(c.stages.size(), 3u);
    EXPECT_EQ(c.stages[0].name, "orientation");
    EXPECT_EQ(c.stages[0].loss.attention.size(), 1u);
    EXPECT_TRUE(c.stages[1].loss.output);
    EXPECT_TRUE(c.stages[2].loss.kd);
    auto l = mk(R"({"preset": "lolcats", "teacher": "t", "stage_overrides": {"steps": 5}})");
    ASSERT_EQ(l.stages.size(), 2u);
    EXPECT_EQ(l.stages[1].steps, 5);
    EXPECT_DOUBLE_EQ(l.stages[0].loss.output_factor, 1000.0);
    auto d = mk(
        R"({"preset": "distil-xlstm", "teacher": "t", "stages": [{"steps": 7, "loss": {"hidden_mode": "ratio"}}]})");
    ASSERT_EQ(d.stages.size(), 1u);
    EXPECT_EQ(d.stages[0].steps, 7);
    EXPECT_EQ(d.stages[0].loss.hidden_mode, train::HiddenMode::Ratio);
    EXPECT_EQ(d.stages[0].loss.alpha.kind, train::ScheduleKind::Delta);  // kept from the preset
    auto round = train::parse_run_config(train::to_json(d), "round trip");
    EXPECT_EQ(train::to_json(round), train::to_json(d));
    EXPECT_THROW(mk(R"({"preset": "nope", "teacher": "t"})"), UsageError);
    EXPECT_THROW(mk(R"({"teacher": "t"})"), FormatError);
    EXPECT_THROW(mk(R"({"preset": "mohawk"})"), FormatError);
    EXPECT_THROW(
        mk(R"({"preset": "mohawk", "teacher": "t", "stages": [{"steps": 1, "loss": {"hidden_mode": "x"}}]})"),
        FormatError);
}
