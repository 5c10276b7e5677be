// The training/eval data pipeline: sources (text corpora and synthetic tasks) mixed by weight,
// tokenised with the teacher's tokenizer, packed to fixed-length sequences, split into train and
// held-out parts, shuffled deterministically per epoch by seed, and cut into batches that are a
// pure function of (epoch, position): the cursor a checkpoint stores. Torch-free.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/data/corpus.h"
#include "core/data/synthetic.h"

namespace dxl::io {
class Tokenizer;
}

namespace dxl::data {

struct SourceConfig {
    std::string kind = "fortunes";  // fortunes | text | jsonl | mqar | induction
    std::string path;               // fortunes (default folder), text, jsonl
    std::string field = "text";     // jsonl
    double weight = 1.0;            // synthetic sources: share of all samples (text fills the rest)
    SyntheticOptions synthetic;     // mqar / induction
};

struct DataConfig {
    std::vector<SourceConfig> sources{SourceConfig{}};
    int64_t seq_len = 128;  // model input length T (sequences hold T + 1 tokens)
    double heldout_fraction =
        0.05;  // documents sent to the held-out split (by hash of seed, index)
    uint64_t seed = 1234;
    Utf8Policy utf8 = Utf8Policy::Replace;
    int64_t synthetic_count = 4096;  // synthetic samples per epoch when there is no text source
    int64_t max_documents = 0;       // 0 = all; else the first N documents of each text source
};

// "fortunes", "fortunes:PATH", "text:PATH", "jsonl:PATH[#field]", "mqar", "induction",
// joined by '+'; a synthetic part may carry "@share", e.g. "fortunes+mqar@0.2".
DataConfig parse_data_spec(const std::string& spec);
// JSON form ({"sources": [...], "seq_len": .., ...}); missing fields keep the defaults.
DataConfig parse_data_config(const nlohmann::json& j, const std::string& where);
nlohmann::json to_json(const DataConfig& c);

enum class Split { Train, Heldout };

// B rows of T positions (row-major). Position t predicts target[t] from input[..t].
struct Batch {
    int64_t B = 0, T = 0;
    std::vector<int64_t> input;         // (B, T)
    std::vector<int64_t> target;        // (B, T) = the next token
    std::vector<uint8_t> input_valid;   // (B, T) input is a real token (KL/alignment mask)
    std::vector<uint8_t> target_valid;  // (B, T) target is a real token (CE mask)
    std::vector<uint8_t> score;         // (B, T) synthetic task positions (accuracy)
};

struct DataCursor {
    int64_t epoch = 0;
    int64_t position = 0;  // samples consumed in this epoch (global, all ranks)
};

class Dataset {
  public:
    // tok may be null only for purely synthetic data (then vocab_size sets the synthetic ids).
    Dataset(const DataConfig& cfg, const io::Tokenizer* tok, int64_t vocab_size);

    const DataConfig& config() const noexcept { return m_cfg; }
    const CorpusStats& stats() const noexcept { return m_stats; }
    int64_t size(Split s) const;  // samples per epoch
    int64_t n_text_sequences(Split s) const;
    int64_t pad_id() const noexcept { return m_vocab.pad; }

    // Sample `i` of epoch `epoch` (shuffled by seed + epoch for Train; one fixed shuffle for
    // Heldout).
    Sample sample(Split s, int64_t epoch, int64_t i) const;
    // Rows [first, first + B) of the epoch order, as a batch.
    Batch batch(Split s, int64_t epoch, int64_t first, int64_t B) const;
    // Advances `c` by `n` samples, wrapping into the next epoch when fewer than n remain (the
    // tail of an epoch is dropped so every step sees a full batch). Returns the first index.
    int64_t take(DataCursor& c, int64_t n) const;

  private:
    int64_t index_in_epoch(Split s, int64_t epoch, int64_t i) const;

    DataConfig m_cfg;
    SyntheticVocab m_vocab;
    CorpusStats m_stats;
    std::vector<std::vector<int64_t>> m_text[2];  // packed (T + 1)-token sequences per split
    std::vector<int64_t> m_synthetic_sources;     // indices into m_cfg.sources
    int64_t m_n_synthetic[2] = {0, 0};
};

}  // namespace dxl::data
