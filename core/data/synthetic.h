// Synthetic sequence tasks generated on the fly, deterministically from (seed, index):
// multi-query associative recall (MQAR, Arora et al. "Zoology") and induction/copy. Their
// scored positions (`score`) give an accuracy that is the cleanest probe of attention-like
// recall. Torch-free.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dxl::data {

// splitmix64: the project's portable RNG step (std:: distributions are implementation-defined).
uint64_t splitmix64(uint64_t& state);
// A deterministic hash of several words.
uint64_t hash_words(std::initializer_list<uint64_t> words);

// One sequence of n tokens with per-position flags.
struct Sample {
    std::vector<int64_t> tokens;  // (n)
    std::vector<uint8_t> valid;   // (n) 1 = real token, 0 = padding
    std::vector<uint8_t> score;   // (n) 1 = predicting this token counts for task accuracy
};

// Token ranges of the synthetic tasks. keys/values are disjoint id ranges [first, first+count).
struct SyntheticVocab {
    int64_t key_first = 'A';
    int64_t key_count = 26;
    int64_t value_first = 'a';
    int64_t value_count = 26;
    int64_t separator = '|';  // between the key-value section and the queries (MQAR), or copies
    int64_t pad = 258;
    int64_t bos = -1;  // prepended when >= 0
};
// Ranges for a vocabulary: the byte tokenizer's letters when vocab >= 259 (pad 258, bos 256),
// else keys in [1, V/2), values in [V/2, V-1), separator 0, pad V-1. ValueError for V < 8.
SyntheticVocab synthetic_vocab_for(int64_t vocab_size, bool byte_tokenizer);

enum class SyntheticTask { Mqar, Induction };
struct SyntheticOptions {
    SyntheticTask task = SyntheticTask::Mqar;
    int64_t n_pairs = 8;       // MQAR: key-value pairs (distinct keys)
    int64_t n_queries = 8;     // MQAR: queried keys (repeats allowed)
    int64_t copy_length = 16;  // induction: random segment length, then copied once
    // induction: > 0 draws each segment's length uniformly from [min_copy_length, copy_length],
    // so the copy sits at a varying offset and only content matching (an induction head), not a
    // fixed relative position, solves it. 0 = always copy_length.
    int64_t min_copy_length = 0;
};
SyntheticTask parse_synthetic_task(const std::string& s);  // "mqar|induction"

// MQAR: [bos] k1 v1 k2 v2 ... | kq vq ...; the vq are scored. Induction: [bos] s | s; the second
// copy is scored. Padded (valid 0) or cut to `length`. ValueError when n_pairs > key_count or
// the task does not fit in `length`.
Sample make_synthetic(const SyntheticOptions& opt, const SyntheticVocab& vocab, int64_t length,
                      uint64_t seed, uint64_t index);

}  // namespace dxl::data
