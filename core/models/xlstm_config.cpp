// xlstm_v1 config parsing/writing, student presets and the analytic parameter count.
#include "core/models/xlstm_config.h"

#include <algorithm>
#include <cmath>

#include "core/base/error.h"

namespace dxl::models {

int64_t round_up_proj(double factor, int64_t dim, int64_t multiple) {
    const double x = factor * static_cast<double>(dim);
    return static_cast<int64_t>(std::ceil(x / static_cast<double>(multiple))) * multiple;
}

int64_t XlstmConfig::mlstm_inner_dim() const {
    return round_up_proj(mlstm_proj_factor, embedding_dim);
}
int64_t XlstmConfig::ffn_dim() const {
    return round_up_proj(ffn_proj_factor, embedding_dim);
}
bool XlstmConfig::is_slstm(int64_t block) const {
    return std::find(slstm_at.begin(), slstm_at.end(), block) != slstm_at.end();
}

namespace {

// Sizes beyond these are typos, not models: they would overflow the parameter count or ask for
// more memory than any machine has, so they are refused before anything is allocated.
constexpr int64_t kMaxDim = int64_t{1} << 20;
constexpr double kMaxProjFactor = 64.0;

void check_positive(int64_t v, int64_t max, const std::string& src, const char* field) {
    DXL_CHECK(v > 0 && v <= max, FormatError, src, ": field '", field, "': expected 1..", max,
              ", but got ", v);
}

void check_factor(double v, const std::string& src, const char* field) {
    DXL_CHECK(std::isfinite(v) && v > 0 && v <= kMaxProjFactor, FormatError, src, ": field '",
              field, "': expected a positive factor up to ", kMaxProjFactor, ", but got ", v);
}

void validate(const XlstmConfig& c, const std::string& src) {
    DXL_CHECK(c.embedding_dim > 0 && c.num_blocks > 0 && c.vocab_size > 0, FormatError, src,
              ": expected positive embedding_dim, num_blocks and vocab_size");
    check_positive(c.embedding_dim, kMaxDim, src, "embedding_dim");
    check_positive(c.num_blocks, 4096, src, "num_blocks");
    check_positive(c.vocab_size, int64_t{1} << 24, src, "vocab_size");
    DXL_CHECK(c.context_length >= 0, FormatError, src,
              ": field 'context_length': expected a positive length (or absent), but got ",
              c.context_length);
    for (int64_t b : c.slstm_at)
        DXL_CHECK(b >= 0 && b < c.num_blocks, FormatError, src, ": field 'slstm_at': block ", b,
                  " is outside [0, ", c.num_blocks, ")");
    bool any_m = false, any_s = false;
    for (int64_t b = 0; b < c.num_blocks; ++b)
        (c.is_slstm(b) ? any_s : any_m) = true;
    DXL_CHECK(!any_m || c.has_mlstm, FormatError, src,
              ": mLSTM blocks are used but 'mlstm_block' is missing or null");
    DXL_CHECK(!any_s || c.has_slstm, FormatError, src,
              ": sLSTM blocks are used (slstm_at) but 'slstm_block' is missing or null");
    if (any_m) {
        check_positive(c.mlstm_num_heads, kMaxDim, src, "mlstm_block.mlstm.num_heads");
        check_positive(c.qkv_proj_blocksize, kMaxDim, src, "mlstm_block.mlstm.qkv_proj_blocksize");
        check_positive(c.mlstm_conv_kernel, 1024, src, "mlstm_block.mlstm.conv1d_kernel_size");
        check_factor(c.mlstm_proj_factor, src, "mlstm_block.mlstm.proj_factor");
        const int64_t inner = c.mlstm_inner_dim();
        DXL_CHECK(inner % c.mlstm_num_heads == 0 && inner % c.qkv_proj_blocksize == 0, FormatError,
                  src, ": mLSTM inner dim ", inner, " must be divisible by num_heads ",
                  c.mlstm_num_heads, " and qkv_proj_blocksize ", c.qkv_proj_blocksize);
    }
    if (any_s) {
        check_positive(c.slstm_num_heads, kMaxDim, src, "slstm_block.slstm.num_heads");
        check_positive(c.slstm_conv_kernel, 1024, src, "slstm_block.slstm.conv1d_kernel_size");
        check_factor(c.ffn_proj_factor, src, "slstm_block.feedforward.proj_factor");
        DXL_CHECK(c.slstm_backend == "vanilla" || c.slstm_backend == "cuda", UnsupportedError, src,
                  ": field 'slstm_block.slstm.backend': '", c.slstm_backend,
                  "' is not supported; use vanilla or cuda (the weight layout of the NX-AI "
                  "kernels)");
    }
    if (any_s)
        DXL_CHECK(c.embedding_dim % c.slstm_num_heads == 0, FormatError, src,
                  ": sLSTM embedding_dim ", c.embedding_dim, " must be divisible by num_heads ",
                  c.slstm_num_heads);
    DXL_CHECK(c.ffn_act == "gelu", UnsupportedError, src, ": feedforward act_fn '", c.ffn_act,
              "' is not supported; supported: gelu");
}

}  // namespace

XlstmConfig parse_xlstm_v1(const io::JsonConfig& cfg) {
    XlstmConfig c;
    c.embedding_dim = cfg.get<int64_t>("embedding_dim");
    c.num_blocks = cfg.get<int64_t>("num_blocks");
    c.vocab_size = cfg.get<int64_t>("vocab_size");
    c.context_length = cfg.get_or<int64_t>("context_length", 0);
    DXL_CHECK(!cfg.has("context_length") || c.context_length > 0, FormatError, cfg.source(),
              ": field 'context_length': expected a positive length, but got ", c.context_length);
    c.slstm_at = cfg.get_or<std::vector<int64_t>>("slstm_at", {});
    c.add_post_blocks_norm = cfg.get_or<bool>("add_post_blocks_norm", true);
    c.tie_weights = cfg.get_or<bool>("tie_weights", false);
    c.bias = cfg.get_or<bool>("bias", false);
    c.frozen = cfg.get_or<std::vector<std::string>>("dxl_frozen", {});
    c.has_mlstm = cfg.has("mlstm_block");
    if (c.has_mlstm) {
        io::JsonConfig m = cfg.sub("mlstm_block").sub("mlstm");
        c.mlstm_num_heads = m.get_or<int64_t>("num_heads", 4);
        c.mlstm_conv_kernel = m.get_or<int64_t>("conv1d_kernel_size", 4);
        c.qkv_proj_blocksize = m.get_or<int64_t>("qkv_proj_blocksize", 4);
        c.mlstm_proj_factor = m.get_or<double>("proj_factor", 2.0);
        c.bias = m.get_or<bool>("bias", c.bias);
    }
    c.has_slstm = cfg.has("slstm_block");
    if (c.has_slstm) {
        io::JsonConfig sb = cfg.sub("slstm_block");
        io::JsonConfig s = sb.sub("slstm");
        c.slstm_num_heads = s.get_or<int64_t>("num_heads", 4);
        c.slstm_conv_kernel = s.get_or<int64_t>("conv1d_kernel_size", 4);
        c.slstm_backend = s.get_or<std::string>("backend", "vanilla");
        c.slstm_bias_init = s.get_or<std::string>("bias_init", "powerlaw_blockdependent");
        if (sb.has("feedforward")) {
            io::JsonConfig ff = sb.sub("feedforward");
            c.ffn_proj_factor = ff.get_or<double>("proj_factor", 1.3);
            c.ffn_act = ff.get_or<std::string>("act_fn", "gelu");
            const std::string ff_type = ff.get_or<std::string>("ff_type", "ffn_gated");
            DXL_CHECK(ff_type == "ffn_gated", UnsupportedError, cfg.source(),
                      ": field 'slstm_block.feedforward.ff_type': '", ff_type,
                      "' is not supported; supported: ffn_gated");
        }
    }
    validate(c, cfg.source());  // bounds num_blocks before the block map is built
    // The redundant "_block_map" ("0,1,0": 1 = sLSTM) must agree with slstm_at when present.
    if (cfg.has("_block_map")) {
        const std::string map = cfg.get<std::string>("_block_map");
        std::string expected;
        for (int64_t b = 0; b < c.num_blocks; ++b)
            expected += (b ? "," : "") + std::string(c.is_slstm(b) ? "1" : "0");
        DXL_CHECK(map == expected, FormatError, cfg.source(), ": field '_block_map': expected '",
                  expected, "' (from num_blocks and slstm_at), but got '", map,
                  "'; fix slstm_at or remove _block_map");
    }
    return c;
}

nlohmann::json to_json(const XlstmConfig& c) {
    using nlohmann::json;
    const int64_t inner = round_up_proj(c.mlstm_proj_factor, c.embedding_dim);
    std::string block_map;
    for (int64_t b = 0; b < c.num_blocks; ++b)
        block_map += (b ? "," : "") + std::string(c.is_slstm(b) ? "1" : "0");
    json j = json::object();
    j["model_type"] = "xlstm_v1";
    j["mlstm_block"] = {{"mlstm",
                         {{"proj_factor", c.mlstm_proj_factor},
                          {"round_proj_up_dim_up", true},
                          {"round_proj_up_to_multiple_of", 64},
                          {"_proj_up_dim", inner},
                          {"conv1d_kernel_size", c.mlstm_conv_kernel},
                          {"qkv_proj_blocksize", c.qkv_proj_blocksize},
                          {"num_heads", c.mlstm_num_heads},
                          {"embedding_dim", c.embedding_dim},
                          {"bias", c.bias},
                          {"dropout", 0.0},
                          {"context_length", c.context_length},
                          {"_num_blocks", c.num_blocks},
                          {"_inner_embedding_dim", inner}}},
                        {"_num_blocks", c.num_blocks},
                        {"_block_idx", nullptr}};
    j["slstm_block"] = {{"slstm",
                         {{"hidden_size", c.embedding_dim},
                          {"num_heads", c.slstm_num_heads},
                          {"num_states", 4},
                          {"backend", c.slstm_backend},
                          {"function", "slstm"},
                          {"bias_init", c.slstm_bias_init},
                          {"recurrent_weight_init", "zeros"},
                          {"_block_idx", nullptr},
                          {"_num_blocks", c.num_blocks},
                          {"num_gates", 4},
                          {"embedding_dim", c.embedding_dim},
                          {"conv1d_kernel_size", c.slstm_conv_kernel},
                          {"group_norm_weight", true},
                          {"dropout", 0.0}}},
                        {"feedforward",
                         {{"proj_factor", c.ffn_proj_factor},
                          {"round_proj_up_dim_up", true},
                          {"round_proj_up_to_multiple_of", 64},
                          {"_proj_up_dim", 0},
                          {"act_fn", c.ffn_act},
                          {"embedding_dim", -1},
                          {"dropout", 0.0},
                          {"bias", c.bias},
                          {"ff_type", "ffn_gated"},
                          {"_num_blocks", 1}}},
                        {"_num_blocks", c.num_blocks},
                        {"_block_idx", nullptr}};
    if (!c.has_mlstm) j["mlstm_block"] = nullptr;
    if (!c.has_slstm) j["slstm_block"] = nullptr;
    j["context_length"] = c.context_length;
    j["num_blocks"] = c.num_blocks;
    j["embedding_dim"] = c.embedding_dim;
    j["add_post_blocks_norm"] = c.add_post_blocks_norm;
    j["bias"] = c.bias;
    j["dropout"] = 0.0;
    j["slstm_at"] = c.slstm_at;
    j["_block_map"] = block_map;
    j["vocab_size"] = c.vocab_size;
    j["tie_weights"] = c.tie_weights;
    j["weight_decay_on_embedding"] = false;
    j["add_embedding_dropout"] = false;
    if (!c.frozen.empty()) j["dxl_frozen"] = c.frozen;
    return j;
}

int64_t parameter_count(const XlstmConfig& c, bool trainable_only) {
    const int64_t d = c.embedding_dim;
    const int64_t bias = c.bias ? 1 : 0;
    int64_t blocks = 0;
    for (int64_t b = 0; b < c.num_blocks; ++b) {
        if (c.is_slstm(b)) {
            const int64_t nh = c.slstm_num_heads, dh = d / nh, ff = c.ffn_dim();
            blocks += d;                            // xlstm_norm
            blocks += d * c.slstm_conv_kernel + d;  // conv1d (depthwise, bias)
            blocks += 4 * nh * dh * dh;             // i, f, z, o head-wise gates (no bias)
            blocks += nh * 4 * dh * dh + 4 * d;     // recurrent kernel + bias
            blocks += d;                            // group_norm
            blocks += d;                            // ffn_norm
            blocks += d * 2 * ff + bias * 2 * ff;   // ffn proj_up
            blocks += ff * d + bias * d;            // ffn proj_down
        } else {
            const int64_t in = c.mlstm_inner_dim(), nh = c.mlstm_num_heads;
            const int64_t bs = c.qkv_proj_blocksize;
            blocks += d;                              // xlstm_norm
            blocks += d * 2 * in + bias * 2 * in;     // proj_up
            blocks += in * c.mlstm_conv_kernel + in;  // conv1d
            blocks += 3 * (in * bs + bias * in);      // q, k, v head-wise (in/bs blocks of bs x bs)
            blocks += in;                             // learnable_skip
            blocks += 2 * (3 * in * nh + nh);         // igate, fgate
            blocks += in;                             // outnorm
            blocks += in * d + bias * d;              // proj_down
        }
    }
    if (c.add_post_blocks_norm) blocks += d;
    const int64_t emb = c.vocab_size * d;
    const int64_t head = c.tie_weights ? 0 : c.vocab_size * d;
    auto frozen = [&](const char* name) {
        return std::find(c.frozen.begin(), c.frozen.end(), name) != c.frozen.end();
    };
    int64_t total = blocks;
    if (!trainable_only || !frozen("token_embedding")) total += emb;
    if (!trainable_only || !(frozen("lm_head") || (c.tie_weights && frozen("token_embedding"))))
        total += head;
    return total;
}

XlstmConfig student_for_teacher(const TeacherDims& t, const std::string& preset) {
    DXL_CHECK(t.hidden > 0 && t.n_layers > 0 && t.n_heads > 0 && t.vocab > 0, ValueError,
              "student_for_teacher: expected positive teacher hidden, layers, heads and vocab");
    XlstmConfig c;
    c.embedding_dim = t.hidden;
    c.vocab_size = t.vocab;
    c.context_length = 512;
    c.tie_weights = false;
    c.bias = false;
    c.add_post_blocks_norm = true;
    c.mlstm_proj_factor = 2.0;
    c.qkv_proj_blocksize = 32;
    c.mlstm_conv_kernel = 4;
    c.slstm_conv_kernel = 4;
    c.slstm_backend = "vanilla";
    c.ffn_proj_factor = 1.7;
    c.frozen = {"token_embedding", "lm_head"};
    if (preset == "paper") {
        c.num_blocks = 6;
        c.slstm_at = {0, 2, 4};
        c.mlstm_num_heads = c.slstm_num_heads = 16;
    } else if (preset == "v2" || preset == "v2_div4") {
        c.num_blocks = std::max<int64_t>(t.n_layers / 2, 1);
        c.slstm_at.clear();
        for (int64_t b = 0; b < c.num_blocks - 1; b += 2)
            c.slstm_at.push_back(b);
        int64_t heads = (t.n_heads + 3) / 4 * 4;
        if (preset == "v2_div4") heads /= 4;
        c.mlstm_num_heads = c.slstm_num_heads = heads;
    } else {
        throw ValueError("student_for_teacher: expected preset paper, v2 or v2_div4, but got '" +
                         preset + "'");
    }
    validate(c, "student_for_teacher(" + preset + ")");
    return c;
}

}  // namespace dxl::models
