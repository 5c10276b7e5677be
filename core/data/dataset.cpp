// Data pipeline: spec parsing, tokenisation + packing, held-out split, epoch shuffles, batches.
#include "core/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <numeric>

#include "core/base/error.h"
#include "core/data/json_util.h"
#include "core/io/tokenizer.h"

namespace dxl::data {

namespace {

bool is_synthetic(const std::string& kind) {
    return kind == "mqar" || kind == "induction";
}

// Options of a synthetic part after its ':' as "key=value,...": n_pairs, n_queries, copy_length,
// min_copy_length.
void parse_synthetic_options(const std::string& opts, const std::string& part,
                             SyntheticOptions& o) {
    size_t pos = 0;
    while (pos < opts.size()) {
        const size_t comma = std::min(opts.find(',', pos), opts.size());
        const std::string kv = opts.substr(pos, comma - pos);
        pos = comma + 1;
        const auto eq = kv.find('=');
        const std::string key = kv.substr(0, eq);
        int64_t* field = key == "n_pairs"           ? &o.n_pairs
                         : key == "n_queries"       ? &o.n_queries
                         : key == "copy_length"     ? &o.copy_length
                         : key == "min_copy_length" ? &o.min_copy_length
                                                    : nullptr;
        DXL_CHECK(field != nullptr && eq != std::string::npos, UsageError, "data spec '", part,
                  "': expected options n_pairs=N,n_queries=N,copy_length=N,min_copy_length=N after "
                  "':', but "
                  "got '",
                  kv, "'");
        try {
            size_t used = 0;
            *field = std::stoll(kv.substr(eq + 1), &used);
            DXL_CHECK(used == kv.size() - eq - 1 && *field >= 1, UsageError, "");
        } catch (const std::exception&) {
            throw UsageError("data spec '" + part + "': " + key +
                             " expects a positive integer, e.g. induction:copy_length=48");
        }
    }
}

SourceConfig parse_source_part(const std::string& part) {
    SourceConfig s;
    std::string body = part;
    const auto at = body.rfind('@');
    if (at != std::string::npos) {
        try {
            s.weight = std::stod(body.substr(at + 1));
        } catch (const std::exception&) {
            throw UsageError("data spec '" + part + "': expected a share after '@', e.g. mqar@0.2");
        }
        body = body.substr(0, at);
    }
    const auto colon = body.find(':');
    s.kind = body.substr(0, colon);
    if (colon != std::string::npos) s.path = body.substr(colon + 1);
    if (s.kind == "jsonl") {
        const auto hash = s.path.rfind('#');
        if (hash != std::string::npos) {
            s.field = s.path.substr(hash + 1);
            s.path = s.path.substr(0, hash);
        }
    }
    DXL_CHECK(s.kind == "fortunes" || s.kind == "text" || s.kind == "jsonl" || is_synthetic(s.kind),
              UsageError,
              "data spec: expected fortunes|text:PATH|jsonl:PATH[#field]|mqar|induction, but got '",
              part, "'");
    DXL_CHECK(!((s.kind == "text" || s.kind == "jsonl") && s.path.empty()), UsageError,
              "data spec '", part, "': expected a path, e.g. text:corpus/");
    if (is_synthetic(s.kind)) {
        s.synthetic.task = parse_synthetic_task(s.kind);
        parse_synthetic_options(s.path, part, s.synthetic);  // "mqar:n_pairs=16,n_queries=4"
        s.path.clear();
    }
    if (!is_synthetic(s.kind) && at == std::string::npos) s.weight = 1.0;
    return s;
}

void fisher_yates(std::vector<int64_t>& v, uint64_t seed) {
    uint64_t s = seed;
    for (size_t i = v.size(); i > 1; --i) {
        const auto j = static_cast<size_t>(splitmix64(s) % i);
        std::swap(v[i - 1], v[j]);
    }
}

}  // namespace

DataConfig parse_data_spec(const std::string& spec) {
    DataConfig c;
    c.sources.clear();
    size_t pos = 0;
    while (pos <= spec.size()) {
        const size_t plus = spec.find('+', pos);
        const std::string part =
            spec.substr(pos, plus == std::string::npos ? std::string::npos : plus - pos);
        DXL_CHECK(!part.empty(), UsageError, "data spec '", spec, "': empty part");
        c.sources.push_back(parse_source_part(part));
        if (plus == std::string::npos) break;
        pos = plus + 1;
    }
    return c;
}

DataConfig parse_data_config(const nlohmann::json& j, const std::string& where) {
    DataConfig c;
    DXL_CHECK(j.is_object() || j.is_string(), FormatError, where,
              ": expected a data object or spec string");
    if (j.is_string()) return parse_data_spec(json_string(j, where));
    try {
        if (j.contains("spec")) c = parse_data_spec(json_string(j.at("spec"), where + ".spec"));
        if (j.contains("sources")) {
            c.sources.clear();
            for (const auto& s : j.at("sources")) {
                SourceConfig sc =
                    parse_source_part(json_string(s.at("kind"), where + ".sources.kind"));
                sc.path = json_string_or(s, "path", sc.path);
                sc.field = json_string_or(s, "field", sc.field);
                sc.weight = s.value("weight", sc.weight);
                sc.synthetic.n_pairs = s.value("n_pairs", sc.synthetic.n_pairs);
                sc.synthetic.n_queries = s.value("n_queries", sc.synthetic.n_queries);
                sc.synthetic.copy_length = s.value("copy_length", sc.synthetic.copy_length);
                sc.synthetic.min_copy_length =
                    s.value("min_copy_length", sc.synthetic.min_copy_length);
                c.sources.push_back(sc);
            }
        }
        c.seq_len = j.value("seq_len", c.seq_len);
        c.heldout_fraction = j.value("heldout_fraction", c.heldout_fraction);
        c.seed = j.value("seed", c.seed);
        if (j.contains("utf8"))
            c.utf8 = parse_utf8_policy(json_string(j.at("utf8"), where + ".utf8"));
        c.synthetic_count = j.value("synthetic_count", c.synthetic_count);
        c.max_documents = j.value("max_documents", c.max_documents);
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(where + ": bad data config (" + e.what() + ")");
    }
    DXL_CHECK(c.seq_len >= 2, FormatError, where, ": seq_len: expected >= 2, but got ", c.seq_len);
    DXL_CHECK(c.heldout_fraction >= 0 && c.heldout_fraction < 1, FormatError, where,
              ": heldout_fraction: expected [0, 1), but got ", c.heldout_fraction);
    return c;
}

nlohmann::json to_json(const DataConfig& c) {
    nlohmann::json j;
    j["sources"] = nlohmann::json::array();
    for (const auto& s : c.sources) {
        nlohmann::json o{{"kind", s.kind}, {"weight", s.weight}};
        if (!s.path.empty()) o["path"] = s.path;
        if (s.kind == "jsonl") o["field"] = s.field;
        if (is_synthetic(s.kind)) {
            o["n_pairs"] = s.synthetic.n_pairs;
            o["n_queries"] = s.synthetic.n_queries;
            o["copy_length"] = s.synthetic.copy_length;
            if (s.synthetic.min_copy_length > 0) o["min_copy_length"] = s.synthetic.min_copy_length;
        }
        j["sources"].push_back(o);
    }
    j["seq_len"] = c.seq_len;
    j["heldout_fraction"] = c.heldout_fraction;
    j["seed"] = c.seed;
    j["utf8"] = to_string(c.utf8);
    j["synthetic_count"] = c.synthetic_count;
    j["max_documents"] = c.max_documents;
    return j;
}

Dataset::Dataset(const DataConfig& cfg, const io::Tokenizer* tok, int64_t vocab_size) : m_cfg(cfg) {
    DXL_CHECK(!cfg.sources.empty(), UsageError, "data: expected at least one source");
    const bool byte_tok = tok != nullptr && tok->kind() == "byte";
    m_vocab = synthetic_vocab_for(vocab_size, byte_tok);
    const int64_t L = cfg.seq_len + 1;
    std::vector<int64_t> stream[2];
    double syn_weight = 0;
    for (size_t si = 0; si < cfg.sources.size(); ++si) {
        const SourceConfig& s = cfg.sources[si];
        if (is_synthetic(s.kind)) {
            DXL_CHECK(s.weight > 0, UsageError, "data: synthetic share must be > 0, but got ",
                      s.weight);
            syn_weight += s.weight;
            m_synthetic_sources.push_back(static_cast<int64_t>(si));
            make_synthetic(s.synthetic, m_vocab, L, cfg.seed, 0);  // validates the fit early
            continue;
        }
        DXL_CHECK(
            tok != nullptr, UsageError, "data: source '", s.kind,
            "' needs the teacher's tokenizer, but the teacher has none; use mqar/induction data");
        std::vector<std::string> docs = s.kind == "fortunes"
                                            ? read_fortunes(s.path.empty() ? kFortunesDir : s.path)
                                        : s.kind == "text" ? read_text_path(s.path)
                                                           : read_jsonl(s.path, s.field);
        if (cfg.max_documents > 0 && static_cast<int64_t>(docs.size()) > cfg.max_documents)
            docs.resize(static_cast<size_t>(cfg.max_documents));
        apply_utf8_policy(docs, cfg.utf8, m_stats);
        for (size_t d = 0; d < docs.size(); ++d) {
            const uint64_t h = hash_words({cfg.seed, si, d, 0x5EEDULL});
            const int split =
                static_cast<double>(h % 1000000ULL) < cfg.heldout_fraction * 1e6 ? 1 : 0;
            std::vector<int64_t> ids = tok->encode_ordinary(docs[d]);
            for (int64_t id : ids)
                DXL_CHECK(id >= 0 && id < vocab_size, ValueError, "data: token id ", id,
                          " is outside the teacher vocabulary [0, ", vocab_size,
                          "); check the tokenizer");
            stream[split].insert(stream[split].end(), ids.begin(), ids.end());
            if (tok->eos_id()) stream[split].push_back(*tok->eos_id());
        }
    }
    for (int sp = 0; sp < 2; ++sp) {
        const auto& st = stream[sp];
        for (size_t off = 0; off + static_cast<size_t>(L) <= st.size();
             off += static_cast<size_t>(L))
            m_text[sp].emplace_back(st.begin() + static_cast<std::ptrdiff_t>(off),
                                    st.begin() + static_cast<std::ptrdiff_t>(off) + L);
    }
    const bool has_text = !m_text[0].empty() || !m_text[1].empty();
    if (!m_synthetic_sources.empty()) {
        if (has_text) {
            DXL_CHECK(syn_weight < 1, UsageError,
                      "data: synthetic shares must sum below 1 when mixed with text, but got ",
                      syn_weight);
            for (int sp = 0; sp < 2; ++sp)
                m_n_synthetic[sp] = static_cast<int64_t>(std::llround(
                    static_cast<double>(m_text[sp].size()) * syn_weight / (1.0 - syn_weight)));
        } else {
            m_n_synthetic[0] = cfg.synthetic_count;
            m_n_synthetic[1] = std::max<int64_t>(
                1, static_cast<int64_t>(std::llround(static_cast<double>(cfg.synthetic_count) *
                                                     cfg.heldout_fraction)));
        }
    }
    DXL_CHECK(size(Split::Train) > 0, ValueError, "data: no training sequences of ", L,
              " tokens could be packed; use a shorter seq_len or more text");
}

int64_t Dataset::n_text_sequences(Split s) const {
    return static_cast<int64_t>(m_text[s == Split::Heldout].size());
}

int64_t Dataset::size(Split s) const {
    return n_text_sequences(s) + m_n_synthetic[s == Split::Heldout];
}

int64_t Dataset::index_in_epoch(Split s, int64_t epoch, int64_t i) const {
    // Train: a fresh permutation per (seed, epoch). Held-out: one fixed permutation (so a few
    // eval batches mix text and synthetic samples). The most recent one is cached.
    const int64_t key = s == Split::Heldout ? -1 : epoch;
    static thread_local const Dataset* cached_for = nullptr;
    static thread_local int64_t cached_key = -2;
    static thread_local uint64_t cached_seed = 0;
    static thread_local std::vector<int64_t> perm;
    if (cached_for != this || cached_key != key || cached_seed != m_cfg.seed ||
        static_cast<int64_t>(perm.size()) != size(s)) {
        perm.resize(static_cast<size_t>(size(s)));
        std::iota(perm.begin(), perm.end(), 0);
        fisher_yates(perm, hash_words({m_cfg.seed, static_cast<uint64_t>(key), 0xE90CULL}));
        cached_for = this;
        cached_key = key;
        cached_seed = m_cfg.seed;
    }
    return perm[static_cast<size_t>(i)];
}

Sample Dataset::sample(Split s, int64_t epoch, int64_t i) const {
    DXL_CHECK(i >= 0 && i < size(s), ValueError, "data: sample ", i, " out of range [0, ", size(s),
              ")");
    const int64_t idx = index_in_epoch(s, epoch, i);
    const int sp = s == Split::Heldout;
    const int64_t n_text = n_text_sequences(s);
    if (idx < n_text) {
        Sample out;
        out.tokens = m_text[sp][static_cast<size_t>(idx)];
        out.valid.assign(out.tokens.size(), 1);
        out.score.assign(out.tokens.size(), 0);
        return out;
    }
    const auto j = static_cast<uint64_t>(idx - n_text);
    // Pick the synthetic source by weight, deterministically from the index.
    double total = 0;
    for (int64_t si : m_synthetic_sources)
        total += m_cfg.sources[static_cast<size_t>(si)].weight;
    const double u = static_cast<double>(hash_words({m_cfg.seed, j, 0x50C4ULL}) % 1000003ULL) /
                     1000003.0 * total;
    double acc = 0;
    int64_t chosen = m_synthetic_sources.back();
    for (int64_t si : m_synthetic_sources) {
        acc += m_cfg.sources[static_cast<size_t>(si)].weight;
        if (u < acc) {
            chosen = si;
            break;
        }
    }
    const SourceConfig& src = m_cfg.sources[static_cast<size_t>(chosen)];
    return make_synthetic(src.synthetic, m_vocab, m_cfg.seq_len + 1,
                          m_cfg.seed + static_cast<uint64_t>(sp) * 0x10001ULL, j);
}

Batch Dataset::batch(Split s, int64_t epoch, int64_t first, int64_t B) const {
    Batch b;
    b.B = B;
    b.T = m_cfg.seq_len;
    const auto n = static_cast<size_t>(B * b.T);
    b.input.resize(n);
    b.target.resize(n);
    b.input_valid.resize(n);
    b.target_valid.resize(n);
    b.score.resize(n);
    for (int64_t r = 0; r < B; ++r) {
        const Sample smp = sample(s, epoch, (first + r) % size(s));
        for (int64_t t = 0; t < b.T; ++t) {
            const auto o = static_cast<size_t>(r * b.T + t), u = static_cast<size_t>(t);
            b.input[o] = smp.tokens[u];
            b.target[o] = smp.tokens[u + 1];
            b.input_valid[o] = smp.valid[u];
            b.target_valid[o] = static_cast<uint8_t>(smp.valid[u + 1] && smp.valid[u]);
            b.score[o] = smp.score[u + 1];
        }
    }
    return b;
}

int64_t Dataset::take(DataCursor& c, int64_t n) const {
    const int64_t N = size(Split::Train);
    DXL_CHECK(n <= N, ValueError, "data: a global batch of ", n, " sequences exceeds the ", N,
              " training sequences per epoch; use a smaller batch or more data");
    if (c.position + n > N) {
        ++c.epoch;
        c.position = 0;
    }
    const int64_t first = c.position;
    c.position += n;
    return first;
}

}  // namespace dxl::data
