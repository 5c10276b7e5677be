// Command-line parsing for the dxl CLI.
#include "app/cli/args.h"

#include <cerrno>
#include <cstdlib>

#include "core/base/error.h"

namespace dxl::cli {

Args::Args(const std::string& command, const std::vector<std::string>& argv, const OptionSpec& spec)
    : m_command(command) {
    for (size_t i = 0; i < argv.size(); ++i) {
        const std::string& a = argv[i];
        if (a.rfind("--", 0) == 0 && a.size() > 2) {
            std::string name = a.substr(2);
            std::string value;
            bool inline_value = false;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                inline_value = true;
            }
            if (spec.flags.count(name)) {
                DXL_CHECK(!inline_value, UsageError, "dxl ", command, ": --", name,
                          " takes no value");
                m_flags.insert(name);
            } else if (spec.with_value.count(name)) {
                if (!inline_value) {
                    DXL_CHECK(i + 1 < argv.size(), UsageError, "dxl ", command, ": --", name,
                              " needs a value");
                    value = argv[++i];
                }
                DXL_CHECK(m_values.count(name) == 0, UsageError, "dxl ", command, ": --", name,
                          " given twice");
                m_values[name] = value;
            } else {
                throw UsageError("dxl " + command + ": unknown option --" + name +
                                 "; run 'dxl help " + command + "' for the options");
            }
        } else {
            DXL_CHECK(m_positional.size() < spec.max_positional, UsageError, "dxl ", command,
                      ": unexpected argument '", a, "'; run 'dxl help ", command, "'");
            m_positional.push_back(a);
        }
    }
}

std::optional<std::string> Args::get(const std::string& name) const {
    auto it = m_values.find(name);
    if (it == m_values.end()) return std::nullopt;
    return it->second;
}

std::string Args::require(const std::string& name) const {
    auto v = get(name);
    DXL_CHECK(v.has_value(), UsageError, "dxl ", m_command, ": --", name,
              " is required; run 'dxl help ", m_command, "'");
    return *v;
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
    return get(name).value_or(fallback);
}

int64_t Args::get_int(const std::string& name, int64_t fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    errno = 0;
    char* end = nullptr;
    long long x = std::strtoll(v->c_str(), &end, 10);
    DXL_CHECK(errno == 0 && end != v->c_str() && *end == '\0', UsageError, "dxl ", m_command,
              ": --", name, ": expected an integer, but got '", *v, "'");
    return x;
}

double Args::get_double(const std::string& name, double fallback) const {
    auto v = get(name);
    if (!v) return fallback;
    errno = 0;
    char* end = nullptr;
    double x = std::strtod(v->c_str(), &end);
    DXL_CHECK(errno == 0 && end != v->c_str() && *end == '\0', UsageError, "dxl ", m_command,
              ": --", name, ": expected a number, but got '", *v, "'");
    return x;
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& what) {
    std::vector<int64_t> out;
    size_t pos = 0;
    while (pos <= text.size()) {
        size_t comma = text.find(',', pos);
        std::string item =
            text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
        size_t b = item.find_first_not_of(" \t\r");
        size_t e = item.find_last_not_of(" \t\r");
        DXL_CHECK(b != std::string::npos, UsageError, what, ": empty entry in '", text,
                  "'; expected comma-separated integers like 1,2,3");
        item = item.substr(b, e - b + 1);
        errno = 0;
        char* end = nullptr;
        long long v = std::strtoll(item.c_str(), &end, 10);
        DXL_CHECK(errno == 0 && end != item.c_str() && *end == '\0', UsageError, what, ": '", item,
                  "' is not an integer; expected comma-separated integers like 1,2,3");
        out.push_back(v);
        if (comma == std::string::npos) break;
        pos = comma + 1;
    }
    return out;
}

}  // namespace dxl::cli
