// dxl: headless command-line interface of Distil-xLSTM Studio. Dispatches to one command and
// maps typed errors to exit codes with a one-line message (docs/cli.md lists the codes).
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

#include "app/cli/commands.h"
#include "core/base/error.h"
#include "dxl/config.h"

namespace {

void print_help() {
    std::printf(
        "dxl %s - Distil-xLSTM Studio command line\n\nusage: dxl <command> "
        "[options]\n\ncommands:\n",
        DXL_VERSION);
    for (const auto& c : dxl::cli::commands())
        std::printf("  %-10s %s\n", c.name, c.summary);
    std::printf("\nrun 'dxl help <command>' for a command's options.\n");
}

const dxl::cli::Command* find_command(const std::string& name) {
    for (const auto& c : dxl::cli::commands())
        if (name == c.name) return &c;
    return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> args(argv + 1, argv + argc);
    if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
        if (args.size() >= 2) {
            if (const auto* c = find_command(args[1])) {
                std::printf("%s", c->usage);
                return 0;
            }
            std::fprintf(stderr, "dxl: unknown command '%s'\n", args[1].c_str());
            return 2;
        }
        print_help();
        return args.empty() ? 2 : 0;
    }
    if (args[0] == "--version" || args[0] == "version") {
        std::printf("dxl %s (%s)\n", DXL_VERSION, DXL_GIT_REV);
        return 0;
    }
    const auto* cmd = find_command(args[0]);
    if (cmd == nullptr) {
        std::fprintf(stderr, "dxl: unknown command '%s'; run 'dxl help' for the list\n",
                     args[0].c_str());
        return 2;
    }
    std::vector<std::string> rest(args.begin() + 1, args.end());
    for (const auto& a : rest) {
        if (a == "--help" || a == "-h") {
            std::printf("%s", cmd->usage);
            return 0;
        }
    }
    try {
        return cmd->run(rest);
    } catch (const dxl::Error& e) {
        std::fprintf(stderr, "dxl %s: %s: %s\n", cmd->name, e.kind_name(), e.what());
        return static_cast<int>(e.kind());
    } catch (const std::bad_alloc&) {
        std::fprintf(stderr, "dxl %s: out of memory; try a shorter input or a smaller model\n",
                     cmd->name);
        return 9;
    } catch (const std::filesystem::filesystem_error& e) {
        // The file system refused (read-only, a folder where a file belongs, a symlink loop, no
        // space): an I/O error, not a bug.
        std::fprintf(stderr, "dxl %s: I/O error: %s; check the path and its permissions\n",
                     cmd->name, e.what());
        return static_cast<int>(dxl::ErrorKind::Io);
    } catch (const std::exception& e) {
        std::string msg = e.what();
        if (auto nl = msg.find('\n'); nl != std::string::npos) msg = msg.substr(0, nl);
        // LibTorch reports a failed allocation as a c10::Error, not std::bad_alloc.
        if (msg.find("can't allocate memory") != std::string::npos ||
            msg.find("not enough memory") != std::string::npos) {
            std::fprintf(stderr,
                         "dxl %s: out of memory (%s); try a shorter input, a smaller batch or a "
                         "smaller model\n",
                         cmd->name, msg.c_str());
            return 9;
        }
        // A torch error that escaped our checks is a missing check: report it as a bug.
        std::fprintf(stderr, "dxl %s: internal error: %s; this is a bug in dxl, please report it\n",
                     cmd->name, msg.c_str());
        return 70;
    }
}
