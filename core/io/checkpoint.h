// Model weights as torch tensors: one model.safetensors, a single file, or a sharded checkpoint
// described by model.safetensors.index.json. F16/BF16 (and F64) weights are converted to the
// requested compute dtype on load.
#pragma once

#include <torch/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dxl::io {

class SafetensorsFile;

class Checkpoint {
  public:
    // A directory holding model.safetensors or model.safetensors.index.json (+ shards).
    static Checkpoint open_dir(const std::string& dir);
    // A single .safetensors file.
    static Checkpoint open_file(const std::string& file);

    bool contains(const std::string& name) const;
    std::vector<std::string> names() const;  // sorted
    std::vector<int64_t> shape(const std::string& name) const;
    // A fresh contiguous CPU tensor of `dtype`; FormatError naming file and tensor if absent.
    torch::Tensor get(const std::string& name, torch::Dtype dtype = torch::kFloat32) const;
    // get() plus a shape check: ShapeError "name: expected [a, b], got [c, d]".
    torch::Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape,
                      torch::Dtype dtype = torch::kFloat32) const;
    // The dtype most floating-point tensors are stored in (by element count): what "--dtype
    // auto" keeps on a GPU. Float32 when the checkpoint holds no floating tensor.
    torch::ScalarType floating_dtype() const;
    const std::map<std::string, std::string>& metadata() const noexcept { return m_metadata; }
    std::string description() const;  // "DIR/model.safetensors (12 tensors)"

  private:
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::map<std::string, size_t> m_owner;  // tensor name -> index into m_files
    std::map<std::string, std::string> m_metadata;
    std::string m_source;
};

// Writes named tensors (any dtype that safetensors knows) to PATH atomically.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace dxl::io
