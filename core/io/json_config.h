// Typed, error-reporting access to JSON configuration files (Hugging Face config.json and our
// own configs). Every failure names the file and the key: "DIR/config.json: field 'n_embd':
// expected an integer, but got a string".
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace dxl::io {

class JsonConfig {
  public:
    JsonConfig() = default;
    JsonConfig(nlohmann::json j, std::string source)
        : m_json(std::move(j)), m_source(std::move(source)) {}

    // IoError if missing, FormatError if not a JSON object.
    static JsonConfig load(const std::string& path);

    const nlohmann::json& json() const noexcept { return m_json; }
    const std::string& source() const noexcept { return m_source; }
    bool has(const std::string& key) const;        // present and not null
    std::string model_type() const;                // required "model_type"
    JsonConfig sub(const std::string& key) const;  // nested object (required)

    // Required field; FormatError if missing, null or of the wrong type.
    template <typename T>
    T get(const std::string& key) const;
    // Optional field: `fallback` when missing or null; FormatError if of the wrong type.
    template <typename T>
    T get_or(const std::string& key, T fallback) const;

  private:
    nlohmann::json m_json;
    std::string m_source;
};

}  // namespace dxl::io
