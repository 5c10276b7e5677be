// Command-line parsing for the dxl CLI (torch-free). Options are "--name value" or "--name=value";
// flags are "--name". Each command declares its options; anything else is a UsageError.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dxl::cli {

struct OptionSpec {
    std::set<std::string> with_value;  // options that take a value
    std::set<std::string> flags;       // boolean flags
    size_t max_positional = 0;
};

class Args {
  public:
    Args(const std::string& command, const std::vector<std::string>& argv, const OptionSpec& spec);

    bool has(const std::string& name) const {
        return m_values.count(name) > 0 || m_flags.count(name) > 0;
    }
    bool flag(const std::string& name) const { return m_flags.count(name) > 0; }
    std::optional<std::string> get(const std::string& name) const;
    std::string require(const std::string& name) const;  // UsageError when missing
    std::string get_or(const std::string& name, const std::string& fallback) const;
    int64_t get_int(const std::string& name, int64_t fallback) const;
    double get_double(const std::string& name, double fallback) const;
    const std::vector<std::string>& positional() const { return m_positional; }
    const std::string& command() const { return m_command; }

  private:
    std::string m_command;
    std::map<std::string, std::string> m_values;
    std::set<std::string> m_flags;
    std::vector<std::string> m_positional;
};

// "1,2, 3" -> {1,2,3}; UsageError naming `what` on anything that is not an integer list.
std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what);

}  // namespace dxl::cli
