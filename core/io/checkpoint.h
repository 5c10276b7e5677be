// Model weights as torch tensors: one model.safetensors, a single file, or a sharded checkpoint
// described by model.safetensors.index.json. F16/BF16 (and F64) weights are converted to the
// requested compute dtype on load.
#pragma once

#include <torch/types.h>

#include "core/io/safetensors.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dxl::io {

class Checkpoint {
  public:
    // A directory holding model.safetensors or model.safetensors.index.json (+ shards).
    static Checkpoint open_dir(const std::string& dir);
    // A single .safetensors file.
    static Checkpoint open_file(const std::string& file);

    bool contains(const std::string& name) const;
    std::vector<std::string> names() const;  // sorted
    std::vector<int64_t> shape(const std::string& name) const;
    DType stored_dtype(const std::string& name) const;  // as written in the file
    // Bytes of tensor data over all files (from the headers; nothing is read).
    uint64_t data_bytes() const noexcept;
    size_t file_count() const noexcept { return m_files.size(); }
    // A fresh contiguous CPU tensor of `dtype`; FormatError naming file and tensor if absent.
    torch::Tensor get(const std::string& name, torch::Dtype dtype = torch::kFloat32) const;
    // get() plus a shape check: ShapeError "name: expected [a, b], got [c, d]".
    torch::Tensor get(const std::string& name, const std::vector<int64_t>& expected_shape,
                      torch::Dtype dtype = torch::kFloat32) const;
    // The dtype most floating-point tensors are stored in (by element count): what "--dtype
    // auto" keeps on a GPU. Float32 when the checkpoint holds no floating tensor.
    torch::ScalarType floating_dtype() const;
    // Converts the tensor straight from the mapped file into `dst` (same shape, any floating
    // dtype): no intermediate copy when the bytes are aligned for their dtype. ShapeError as get().
    void copy_to(const std::string& name, torch::Tensor& dst) const;
    const std::map<std::string, std::string>& metadata() const noexcept { return m_metadata; }
    std::string description() const;  // "DIR/model.safetensors (12 tensors)"

  private:
    std::vector<std::shared_ptr<SafetensorsFile>> m_files;
    std::map<std::string, size_t> m_owner;  // tensor name -> index into m_files
    std::map<std::string, std::string> m_metadata;
    std::string m_source;
};

torch::Dtype to_torch_dtype(DType t);

// Writes named tensors (any dtype that safetensors knows) to PATH atomically.
void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace dxl::io
