// The command table: names, one-line summaries and help texts.
#include "app/cli/commands.h"

namespace dxl::cli {

namespace {
const char* kInputHelp =
    "input (exactly one):\n"
    "  --text STR          text, encoded with the model's tokenizer.json\n"
    "  --text-file F       the same, read from a file\n"
    "  --tokens 1,2,3      token ids\n"
    "  --tokens-file F     token ids, comma-separated, one sequence per line\n";
}

const std::vector<Command>& commands() {
    static const std::string info_usage = std::string(
        "usage: dxl info (--model DIR | --config FILE) [--threads N]\n\n"
        "Describes a model: architecture, layers/blocks, heads, width, vocabulary, context, total and\n"
        "trainable parameter counts, tokenizer and compute backend. --config reads a config.json alone\n"
        "(no weights needed), e.g. data/configs/student_paper_qwen2.5-1.5b.json.\n");
    static const std::string forward_usage = std::string(
        "usage: dxl forward --model DIR INPUT --out FILE.h5 [--form auto|parallel|chunkwise|recurrent]\n"
        "                   [--chunk-size 64] [--threads N]\n\n"
        "Runs one forward pass and writes FILE.h5 with /tokens (int64 [T]), /logits (float32 [T, V]) and\n"
        "per layer /teacher/layer_NN/attn_probs (float32 [H, T, T]) for a Transformer, or per mLSTM block\n"
        "/student/block_NN/implicit_attn (float32 [H, T, T], raw signed A) for an xLSTM. --form picks the\n"
        "mLSTM cell form (auto: chunkwise above 256 tokens). The file is written under FILE.h5.partial\n"
        "and renamed when complete.\n\n") + kInputHelp;
    static const std::string generate_usage = std::string(
        "usage: dxl generate --model DIR INPUT [--max-new-tokens 32] [--greedy | --temperature 1.0\n"
        "                    --top-k 40 --seed 0] [--threads N]\n\n"
        "Continues the input with a KV cache (Transformers) or the recurrent state (xLSTM); prints\n"
        "the text when the model has a tokenizer, else the token ids.\n\n") + kInputHelp;
    static const std::vector<Command> table = {
        {"info", "describe a model directory or config (layers, heads, parameter counts)", info_usage.c_str(),
         run_info},
        {"forward", "run one forward pass, write logits and attention maps to HDF5", forward_usage.c_str(),
         run_forward},
        {"generate", "generate a continuation (greedy or top-k sampling)", generate_usage.c_str(),
         run_generate},
    };
    return table;
}

}  // namespace dxl::cli
