// String access to nlohmann::json written so GCC's -Wnull-dereference (a false positive on
// json::find / get<std::string> under -O3, fatal with -Werror) stays quiet.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/base/error.h"

namespace dxl::data {

// The string value of j (FormatError naming `what` when j is not a string).
inline std::string json_string(const nlohmann::json& j, const std::string& what) {
    DXL_CHECK(j.is_string(), FormatError, what, ": expected a string, but got ", j.type_name());
    return j.get_ref<const std::string&>();
}
// j[key] as a string, or fallback when j is not an object, the key is missing or null.
inline std::string json_string_or(const nlohmann::json& j, const std::string& key,
                                  const std::string& fallback) {
    if (!j.is_object() || !j.contains(key)) return fallback;
    const nlohmann::json& v = j.at(key);
    if (v.is_null()) return fallback;
    return json_string(v, key);
}

}  // namespace dxl::data

namespace dxl::data {

// j[key] as an integer, or fallback when j is not an object, the key is missing or not an integer.
inline int64_t json_int_or(const nlohmann::json& j, const std::string& key, int64_t fallback) {
    if (!j.is_object() || !j.contains(key)) return fallback;
    const nlohmann::json& v = j.at(key);
    return v.is_number_integer() ? v.get_ref<const nlohmann::json::number_integer_t&>() : fallback;
}

}  // namespace dxl::data
