// CLI command registry. Each cmd_*.cpp registers its command with DXL_CLI_COMMAND, so adding a
// command touches no shared file. A command returns the process exit code (0 on success) and
// throws dxl::Error subclasses on failure; main() maps those to exit codes and one-line messages.
#pragma once

#include <string>
#include <vector>

namespace dxl::cli {

using CommandFn = int (*)(const std::vector<std::string>& argv);

struct Command {
    const char* name;
    const char* summary;  // one line for `dxl help`
    const char* usage;    // full help text for `dxl help NAME`
    CommandFn run;
    int order;  // position in `dxl help` (ascending)
};

// All registered commands, sorted by order (call only after static initialisation, i.e. from main).
const std::vector<Command>& commands();

// Registers a command at static-initialisation time (used through DXL_CLI_COMMAND).
struct CommandRegistration {
    explicit CommandRegistration(const Command& c);
};

// Help text shared by commands that take token input.
extern const char* const kInputHelp;

}  // namespace dxl::cli

#define DXL_CLI_CONCAT_(a, b) a##b
#define DXL_CLI_CONCAT(a, b) DXL_CLI_CONCAT_(a, b)
// DXL_CLI_COMMAND(order, "name", "summary", usage_string, run_function)
#define DXL_CLI_COMMAND(order, name, summary, usage, fn)         \
    static const ::dxl::cli::CommandRegistration DXL_CLI_CONCAT( \
        dxl_cli_reg_, __LINE__)(::dxl::cli::Command{name, summary, usage, fn, order})
