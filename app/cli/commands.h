// CLI command entry points. Each returns the process exit code (0 on success) and throws
// dxl::Error subclasses on failure; main() maps those to exit codes and one-line messages.
#pragma once

#include <string>
#include <vector>

namespace dxl::cli {

struct Command {
    const char* name;
    const char* summary;
    const char* usage;  // full help text
    int (*run)(const std::vector<std::string>& argv);
};

const std::vector<Command>& commands();

int run_info(const std::vector<std::string>& argv);
int run_forward(const std::vector<std::string>& argv);
int run_generate(const std::vector<std::string>& argv);

}  // namespace dxl::cli
