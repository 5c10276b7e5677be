// Checkpoint: torch tensors from one safetensors file, a model directory, or a sharded checkpoint
// (model.safetensors.index.json + shards), and save_safetensors for torch tensors.
#include "core/io/checkpoint.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

#include "core/base/error.h"
#include "core/io/json_config.h"
#include "core/io/safetensors.h"

namespace dxl::io {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";

std::string shape_str(c10::IntArrayRef shape) {
    std::ostringstream os;
    os << '[';
    for (size_t i = 0; i < shape.size(); ++i)
        os << (i ? ", " : "") << shape[i];
    os << ']';
    return os.str();
}

torch::Dtype to_torch(DType t) {
    switch (t) {
        case DType::F64:
            return torch::kFloat64;
        case DType::F32:
            return torch::kFloat32;
        case DType::F16:
            return torch::kFloat16;
        case DType::BF16:
            return torch::kBFloat16;
        case DType::I64:
            return torch::kInt64;
        case DType::I32:
            return torch::kInt32;
        case DType::I16:
            return torch::kInt16;
        case DType::I8:
            return torch::kInt8;
        case DType::U8:
            return torch::kUInt8;
        case DType::BOOL:
            return torch::kBool;
    }
    return torch::kFloat32;
}

std::optional<DType> from_torch(torch::Dtype t) {
    switch (t) {
        case torch::kFloat64:
            return DType::F64;
        case torch::kFloat32:
            return DType::F32;
        case torch::kFloat16:
            return DType::F16;
        case torch::kBFloat16:
            return DType::BF16;
        case torch::kInt64:
            return DType::I64;
        case torch::kInt32:
            return DType::I32;
        case torch::kInt16:
            return DType::I16;
        case torch::kInt8:
            return DType::I8;
        case torch::kUInt8:
            return DType::U8;
        case torch::kBool:
            return DType::BOOL;
        default:
            return std::nullopt;
    }
}

bool is_float(DType t) {
    return t == DType::F64 || t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

}  // namespace

Checkpoint Checkpoint::open_file(const std::string& file) {
    Checkpoint c;
    auto f = std::make_shared<SafetensorsFile>(file);
    for (const auto& t : f->tensors())
        c.m_owner[t.name] = 0;
    c.m_metadata = f->metadata();
    c.m_files.push_back(std::move(f));
    c.m_source = file;
    return c;
}

Checkpoint Checkpoint::open_dir(const std::string& dir) {
    DXL_CHECK(fs::is_directory(dir), IoError, dir,
              ": no such directory; expected a model directory "
              "holding ",
              kSingleFile, " or ", kIndexFile);
    const fs::path single = fs::path(dir) / kSingleFile;
    if (fs::exists(single)) return open_file(single.string());
    const fs::path index_path = fs::path(dir) / kIndexFile;
    DXL_CHECK(fs::exists(index_path), IoError, dir, ": expected ", kSingleFile, " or ", kIndexFile,
              " (with its shards) in this directory, but found neither");

    const std::string ipath = index_path.string();
    const JsonConfig index = JsonConfig::load(ipath);
    DXL_CHECK(index.json().contains("weight_map"), FormatError, ipath,
              ": field 'weight_map' is missing");
    const auto& wm = index.json().at("weight_map");
    DXL_CHECK(wm.is_object(), FormatError, ipath,
              ": weight_map: expected an object {tensor: shard file}");

    Checkpoint c;
    c.m_source = ipath;
    if (index.json().contains("metadata") && index.json().at("metadata").is_object()) {
        for (const auto& [k, v] : index.json().at("metadata").items())
            c.m_metadata[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    std::map<std::string, size_t> shard_pos;  // shard file name -> index into m_files
    for (const auto& [tensor, shard_json] : wm.items()) {
        DXL_CHECK(shard_json.is_string(), FormatError, ipath, ": weight_map: tensor '", tensor,
                  "': expected a shard file name (string)");
        const std::string shard = shard_json.get<std::string>();
        const fs::path rel(shard);
        bool safe = !shard.empty() && rel.is_relative();
        for (const auto& part : rel)
            safe = safe && part != "..";
        DXL_CHECK(safe, FormatError, ipath, ": weight_map: tensor '", tensor, "': shard '", shard,
                  "' must be a file name inside ", dir);
        auto it = shard_pos.find(shard);
        if (it == shard_pos.end()) {
            const fs::path sp = fs::path(dir) / rel;
            DXL_CHECK(fs::is_regular_file(sp), IoError, ipath, ": weight_map: tensor '", tensor,
                      "' is in shard '", shard, "', but ", sp.string(), " does not exist");
            c.m_files.push_back(std::make_shared<SafetensorsFile>(sp.string()));
            it = shard_pos.emplace(shard, c.m_files.size() - 1).first;
            for (const auto& [k, v] : c.m_files.back()->metadata())
                c.m_metadata.emplace(k, v);
        }
        DXL_CHECK(c.m_files[it->second]->find(tensor) != nullptr, FormatError, ipath,
                  ": weight_map: tensor '", tensor, "' is listed in shard '", shard, "', but ",
                  c.m_files[it->second]->path(), " does not contain it");
        c.m_owner[tensor] = it->second;
    }
    return c;
}

bool Checkpoint::contains(const std::string& name) const {
    return m_owner.count(name) > 0;
}

std::vector<std::string> Checkpoint::names() const {
    std::vector<std::string> out;
    out.reserve(m_owner.size());
    for (const auto& kv : m_owner)
        out.push_back(kv.first);
    return out;
}

std::vector<int64_t> Checkpoint::shape(const std::string& name) const {
    const auto it = m_owner.find(name);
    DXL_CHECK(it != m_owner.end(), FormatError, m_source, ": tensor '", name, "' is missing");
    return m_files[it->second]->find(name)->shape;
}

torch::ScalarType Checkpoint::floating_dtype() const {
    std::map<DType, int64_t> elements;  // stored dtype -> element count
    for (const auto& [name, owner] : m_owner) {
        const TensorEntry* e = m_files[owner]->find(name);
        if (e->dtype != DType::F32 && e->dtype != DType::F16 && e->dtype != DType::BF16 &&
            e->dtype != DType::F64)
            continue;
        int64_t n = 1;
        for (int64_t d : e->shape)
            n *= d;
        elements[e->dtype] += n;
    }
    DType best = DType::F32;
    int64_t most = -1;
    for (const auto& [t, n] : elements) {
        if (n > most) best = t, most = n;
    }
    switch (best) {
        case DType::F16:
            return torch::kFloat16;
        case DType::BF16:
            return torch::kBFloat16;
        case DType::F64:
            return torch::kFloat64;
        default:
            return torch::kFloat32;
    }
}

torch::Tensor Checkpoint::get(const std::string& name, torch::Dtype dtype) const {
    const auto it = m_owner.find(name);
    DXL_CHECK(it != m_owner.end(), FormatError, m_source, ": tensor '", name,
              "' is missing; the checkpoint holds ", m_owner.size(),
              " tensors (is it for a different architecture or naming scheme?)");
    const SafetensorsFile& f = *m_files[it->second];
    const TensorEntry& e = *f.find(name);
    DXL_CHECK(!is_float(e.dtype) || c10::isFloatingType(dtype), UnsupportedError, f.path(),
              ": tensor '", name, "' is ", dtype_name(e.dtype), "; converting it to ",
              c10::toString(dtype), " would truncate; request a floating-point dtype");
    // Copy out of the mapping (tensor starts need not be aligned for their dtype).
    torch::Tensor raw = torch::empty(e.shape, torch::TensorOptions().dtype(to_torch(e.dtype)));
    const size_t nbytes = static_cast<size_t>(e.end - e.begin);
    if (nbytes > 0) std::memcpy(raw.data_ptr(), f.data(e), nbytes);
    if (e.dtype == DType::BOOL && nbytes > 0) {
        const uint8_t* b = f.data(e);
        for (size_t i = 0; i < nbytes; ++i)
            DXL_CHECK(b[i] <= 1, FormatError, f.path(), ": tensor '", name, "': BOOL element ", i,
                      " has byte value ", static_cast<unsigned>(b[i]), ", expected 0 or 1");
    }
    if (raw.scalar_type() == dtype) return raw;
    return raw.to(dtype).contiguous();
}

torch::Tensor Checkpoint::get(const std::string& name, const std::vector<int64_t>& expected_shape,
                              torch::Dtype dtype) const {
    const auto have = shape(name);
    DXL_CHECK(have == expected_shape, ShapeError, m_source, ": ", name, ": expected ",
              shape_str(expected_shape), ", got ", shape_str(have));
    return get(name, dtype);
}

std::string Checkpoint::description() const {
    std::ostringstream os;
    os << m_source << " (";
    if (m_files.size() > 1) os << m_files.size() << " shards, ";
    os << m_owner.size() << " tensors)";
    return os.str();
}

void save_safetensors(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata) {
    std::vector<torch::Tensor> keep;  // contiguous CPU copies alive until written
    std::vector<TensorToWrite> out;
    keep.reserve(tensors.size());
    out.reserve(tensors.size());
    for (const auto& [name, t] : tensors) {
        DXL_CHECK(t.defined(), ValueError, path, ": save_safetensors: tensor '", name,
                  "' is undefined");
        const auto dt = from_torch(t.scalar_type());
        DXL_CHECK(dt.has_value(), UnsupportedError, path, ": save_safetensors: tensor '", name,
                  "' has dtype ", c10::toString(t.scalar_type()),
                  ", which safetensors (F64..BOOL) cannot hold");
        keep.push_back(t.detach().to(torch::kCPU).contiguous());
        const auto sizes = keep.back().sizes();
        out.push_back(TensorToWrite{name, *dt, std::vector<int64_t>(sizes.begin(), sizes.end()),
                                    keep.back().data_ptr()});
    }
    write_safetensors(path, out, metadata);
}

}  // namespace dxl::io
