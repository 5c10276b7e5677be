// JsonConfig: typed getters with file- and key-naming errors.
#include "core/io/json_config.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "core/base/error.h"

namespace dxl::io {

namespace {
template <typename T>
const char* type_word() {
    if constexpr (std::is_same_v<T, bool>) return "a boolean";
    if constexpr (std::is_integral_v<T>) return "an integer";
    if constexpr (std::is_floating_point_v<T>) return "a number";
    if constexpr (std::is_same_v<T, std::string>) return "a string";
    return "a list";
}

const char* json_type_word(const nlohmann::json& v) {
    if (v.is_boolean()) return "a boolean";
    if (v.is_number_integer()) return "an integer";
    if (v.is_number()) return "a number";
    if (v.is_string()) return "a string";
    if (v.is_array()) return "a list";
    if (v.is_object()) return "an object";
    return "null";
}

template <typename T>
bool type_ok(const nlohmann::json& v) {
    if constexpr (std::is_same_v<T, bool>) return v.is_boolean();
    if constexpr (std::is_integral_v<T>)
        return v.is_number_integer() ||
               (v.is_number_float() &&
                v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())));
    if constexpr (std::is_floating_point_v<T>) return v.is_number();
    if constexpr (std::is_same_v<T, std::string>) return v.is_string();
    if constexpr (std::is_same_v<T, std::vector<int64_t>> || std::is_same_v<T, std::vector<int>>) {
        if (!v.is_array()) return false;
        for (const auto& e : v)
            if (!e.is_number_integer()) return false;
        return true;
    }
    if constexpr (std::is_same_v<T, std::vector<double>>) {
        if (!v.is_array()) return false;
        for (const auto& e : v)
            if (!e.is_number()) return false;
        return true;
    }
    if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        if (!v.is_array()) return false;
        for (const auto& e : v)
            if (!e.is_string()) return false;
        return true;
    }
    return false;
}

template <typename T>
T convert(const nlohmann::json& v) {
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
        if (v.is_number_float()) return static_cast<T>(v.get<double>());
    }
    return v.get<T>();
}
}  // namespace

JsonConfig JsonConfig::load(const std::string& path) {
    DXL_CHECK(std::filesystem::exists(path), IoError, path, ": no such file");
    DXL_CHECK(!std::filesystem::is_directory(path), IoError, path,
              ": is a directory, expected a JSON file");
    std::ifstream in(path, std::ios::binary);
    DXL_CHECK(in.good(), IoError, path, ": cannot open for reading");
    nlohmann::json j;
    try {
        in >> j;
    } catch (const nlohmann::json::exception& e) {
        throw FormatError(path + ": not valid JSON (" + e.what() + ")");
    }
    DXL_CHECK(j.is_object(), FormatError, path, ": expected a JSON object at the top level");
    return JsonConfig(std::move(j), path);
}

bool JsonConfig::has(const std::string& key) const {
    return m_json.is_object() && m_json.contains(key) && !m_json.at(key).is_null();
}

std::string JsonConfig::model_type() const {
    DXL_CHECK(has("model_type"), FormatError, m_source,
              ": field 'model_type' is missing; is this a Hugging Face config.json?");
    return get<std::string>("model_type");
}

JsonConfig JsonConfig::sub(const std::string& key) const {
    DXL_CHECK(has(key), FormatError, m_source, ": field '", key, "' is missing");
    DXL_CHECK(m_json.at(key).is_object(), FormatError, m_source, ": field '", key,
              "': expected an object, but got ", json_type_word(m_json.at(key)));
    return JsonConfig(m_json.at(key), m_source + ":" + key);
}

template <typename T>
T JsonConfig::get(const std::string& key) const {
    DXL_CHECK(has(key), FormatError, m_source, ": field '", key, "' is missing (expected ",
              type_word<T>(), ")");
    const auto& v = m_json.at(key);
    DXL_CHECK(type_ok<T>(v), FormatError, m_source, ": field '", key, "': expected ",
              type_word<T>(), ", but got ", json_type_word(v));
    return convert<T>(v);
}

template <typename T>
T JsonConfig::get_or(const std::string& key, T fallback) const {
    if (!has(key)) return fallback;
    return get<T>(key);
}

#define DXL_JSON_INSTANTIATE(T)                              \
    template T JsonConfig::get<T>(const std::string&) const; \
    template T JsonConfig::get_or<T>(const std::string&, T) const;
DXL_JSON_INSTANTIATE(bool)
DXL_JSON_INSTANTIATE(int)
DXL_JSON_INSTANTIATE(int64_t)
DXL_JSON_INSTANTIATE(double)
DXL_JSON_INSTANTIATE(float)
DXL_JSON_INSTANTIATE(std::string)
DXL_JSON_INSTANTIATE(std::vector<int>)
DXL_JSON_INSTANTIATE(std::vector<int64_t>)
DXL_JSON_INSTANTIATE(std::vector<double>)
DXL_JSON_INSTANTIATE(std::vector<std::string>)
#undef DXL_JSON_INSTANTIATE

}  // namespace dxl::io
