// MQAR and induction/copy generators (see synthetic.h).
#include "core/data/synthetic.h"

#include <algorithm>

#include "core/base/error.h"

namespace dxl::data {

uint64_t splitmix64(uint64_t& state) {
    uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

uint64_t hash_words(std::initializer_list<uint64_t> words) {
    uint64_t s = 0x243F6A8885A308D3ULL;
    for (uint64_t w : words) {
        s ^= w + 0x9E3779B97F4A7C15ULL + (s << 6) + (s >> 2);
        splitmix64(s);
    }
    return splitmix64(s);
}

SyntheticTask parse_synthetic_task(const std::string& s) {
    if (s == "mqar") return SyntheticTask::Mqar;
    if (s == "induction" || s == "copy") return SyntheticTask::Induction;
    throw UsageError("synthetic task: expected mqar|induction, but got '" + s + "'");
}

SyntheticVocab synthetic_vocab_for(int64_t vocab_size, bool byte_tokenizer) {
    SyntheticVocab v;
    if (byte_tokenizer && vocab_size >= 259) return v;
    DXL_CHECK(vocab_size >= 8, ValueError,
              "synthetic tasks: expected a vocabulary of at least 8 ids, but got ", vocab_size);
    v.separator = 0;
    v.key_first = 1;
    v.key_count = vocab_size / 2 - 1;
    v.value_first = vocab_size / 2;
    v.value_count = vocab_size - 1 - v.value_first;
    v.pad = vocab_size - 1;
    v.bos = -1;
    return v;
}

namespace {
int64_t below(uint64_t& s, int64_t n) {
    return static_cast<int64_t>(splitmix64(s) % static_cast<uint64_t>(n));
}
}  // namespace

Sample make_synthetic(const SyntheticOptions& opt, const SyntheticVocab& vocab, int64_t length,
                      uint64_t seed, uint64_t index) {
    uint64_t s = hash_words({seed, index, static_cast<uint64_t>(opt.task)});
    Sample out;
    auto push = [&](int64_t t, bool scored) {
        out.tokens.push_back(t);
        out.valid.push_back(1);
        out.score.push_back(scored ? 1 : 0);
    };
    if (vocab.bos >= 0) push(vocab.bos, false);
    if (opt.task == SyntheticTask::Mqar) {
        DXL_CHECK(opt.n_pairs >= 1 && opt.n_pairs <= vocab.key_count, ValueError,
                  "mqar: expected 1..", vocab.key_count, " key-value pairs, but got ", opt.n_pairs);
        const int64_t need = (vocab.bos >= 0 ? 1 : 0) + 2 * opt.n_pairs + 1 + 2 * opt.n_queries;
        DXL_CHECK(need <= length, ValueError, "mqar: ", opt.n_pairs, " pairs and ", opt.n_queries,
                  " queries need ", need, " tokens, but the sequence length is ", length,
                  "; lower n_pairs/n_queries");
        std::vector<int64_t> keys(static_cast<size_t>(vocab.key_count));
        for (int64_t i = 0; i < vocab.key_count; ++i)
            keys[static_cast<size_t>(i)] = vocab.key_first + i;
        for (int64_t i = 0; i < opt.n_pairs; ++i)
            std::swap(keys[static_cast<size_t>(i)],
                      keys[static_cast<size_t>(i + below(s, vocab.key_count - i))]);
        std::vector<int64_t> vals(static_cast<size_t>(opt.n_pairs));
        for (int64_t i = 0; i < opt.n_pairs; ++i) {
            vals[static_cast<size_t>(i)] = vocab.value_first + below(s, vocab.value_count);
            push(keys[static_cast<size_t>(i)], false);
            push(vals[static_cast<size_t>(i)], false);
        }
        push(vocab.separator, false);
        for (int64_t q = 0; q < opt.n_queries; ++q) {
            const auto i = static_cast<size_t>(below(s, opt.n_pairs));
            push(keys[i], false);
            push(vals[i], true);
        }
    } else {
        const int64_t need = (vocab.bos >= 0 ? 1 : 0) + 2 * opt.copy_length + 1;
        DXL_CHECK(opt.copy_length >= 1 && need <= length, ValueError, "induction: a copy of ",
                  opt.copy_length, " tokens needs ", need, " tokens, but the sequence length is ",
                  length);
        DXL_CHECK(opt.min_copy_length >= 0 && opt.min_copy_length <= opt.copy_length, ValueError,
                  "induction: min_copy_length ", opt.min_copy_length,
                  " must be in [0, copy_length ", opt.copy_length, "]");
        const int64_t len =
            opt.min_copy_length > 0
                ? opt.min_copy_length + below(s, opt.copy_length - opt.min_copy_length + 1)
                : opt.copy_length;
        std::vector<int64_t> seg(static_cast<size_t>(len));
        const int64_t lo = vocab.key_first, n = vocab.key_count + vocab.value_count;
        for (auto& t : seg) {
            const int64_t r = below(s, n);
            t = r < vocab.key_count ? lo + r : vocab.value_first + (r - vocab.key_count);
        }
        for (auto t : seg)
            push(t, false);
        push(vocab.separator, false);
        for (size_t i = 0; i < seg.size(); ++i)
            push(seg[i], i > 0);  // the first copy token is not inferable
    }
    while (static_cast<int64_t>(out.tokens.size()) < length) {
        out.tokens.push_back(vocab.pad);
        out.valid.push_back(0);
        out.score.push_back(0);
    }
    return out;
}

}  // namespace dxl::data
