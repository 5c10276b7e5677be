// The command registry behind `dxl help` and dispatch.
#include "app/cli/commands.h"

#include <algorithm>

namespace dxl::cli {
namespace {
std::vector<Command>& registry() {
    static std::vector<Command> r;  // filled during static initialisation, read-only afterwards
    return r;
}
}  // namespace

const char* const kInputHelp =
    "input (exactly one):\n"
    "  --text STR          text, encoded with the model's tokenizer.json\n"
    "  --text-file F       the same, read from a file\n"
    "  --tokens 1,2,3      token ids\n"
    "  --tokens-file F     token ids, comma-separated, one sequence per line\n"
    "  --tokenizer FILE    a tokenizer.json to use instead of the model's (for checkpoints\n"
    "                      that ship without one)\n";

CommandRegistration::CommandRegistration(const Command& c) {
    registry().push_back(c);
}

const std::vector<Command>& commands() {
    static const std::vector<Command> sorted = [] {
        std::vector<Command> out = registry();
        std::sort(out.begin(), out.end(),
                  [](const Command& a, const Command& b) { return a.order < b.order; });
        return out;
    }();
    return sorted;
}

}  // namespace dxl::cli
