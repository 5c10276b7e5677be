// HDF5 RAII wrapper implementation. HDF5 calls return negative ids/status on failure; each is
// turned into a dxl::IoError or dxl::FormatError that names the file and object.
#include "core/store/h5.h"

#include <algorithm>
#include <filesystem>
#include <type_traits>

#include "core/base/error.h"

namespace dxl::h5 {

Handle& Handle::operator=(Handle&& o) noexcept {
    if (this != &o) {
        reset();
        m_id = o.m_id;
        m_closer = o.m_closer;
        o.m_id = -1;
    }
    return *this;
}

void Handle::reset() noexcept {
    if (m_id >= 0 && m_closer) m_closer(m_id);
    m_id = -1;
}

void silence_hdf5_errors() {
    // The automatic error printer is per thread in the thread-safe HDF5 build: once per thread.
    thread_local bool silenced = false;
    if (!silenced) {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        silenced = true;
    }
}

namespace {

template <typename T>
hid_t native_type() {
    if constexpr (std::is_same_v<T, float>) return H5T_NATIVE_FLOAT;
    if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
    if constexpr (std::is_same_v<T, int64_t>) return H5T_NATIVE_INT64;
    if constexpr (std::is_same_v<T, int32_t>) return H5T_NATIVE_INT32;
    if constexpr (std::is_same_v<T, uint8_t>) return H5T_NATIVE_UINT8;
    if constexpr (std::is_same_v<T, int8_t>) return H5T_NATIVE_INT8;
    if constexpr (std::is_same_v<T, uint16_t>) return H5T_NATIVE_UINT16;
}

// Splits "a/b/c" into components, ignoring empty ones.
std::vector<std::string> split_path(const std::string& p) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : p) {
        if (c == '/') {
            if (!cur.empty()) out.push_back(cur);
            cur.clear();
        } else {
            cur += c;
        }
    }
    if (!cur.empty()) out.push_back(cur);
    return out;
}

Handle open_object(hid_t loc, const std::string& object) {
    if (object.empty() || object == ".") {
        hid_t id = H5Oopen(loc, ".", H5P_DEFAULT);
        return Handle(id, H5Oclose);
    }
    return Handle(H5Oopen(loc, object.c_str(), H5P_DEFAULT), H5Oclose);
}

}  // namespace

std::string Group::where(const std::string& name) const {
    std::string p = m_path == "/" ? "/" + name : m_path + "/" + name;
    return m_file + ":" + p;
}

bool Group::exists(const std::string& path) const {
    // H5Lexists must be checked component by component for nested paths.
    auto parts = split_path(path);
    std::string cur;
    for (const auto& part : parts) {
        cur += (cur.empty() ? "" : "/") + part;
        if (H5Lexists(id(), cur.c_str(), H5P_DEFAULT) <= 0) return false;
    }
    return !parts.empty();
}

bool Group::is_group(const std::string& path) const {
    if (!exists(path)) return false;
    H5O_info_t info;
    if (H5Oget_info_by_name(id(), path.c_str(), &info, H5P_DEFAULT) < 0) return false;
    return info.type == H5O_TYPE_GROUP;
}

bool Group::is_dataset(const std::string& path) const {
    if (!exists(path)) return false;
    H5O_info_t info;
    if (H5Oget_info_by_name(id(), path.c_str(), &info, H5P_DEFAULT) < 0) return false;
    return info.type == H5O_TYPE_DATASET;
}

Group Group::group(const std::string& path) const {
    DXL_CHECK(is_group(path), FormatError, where(path), ": expected a group, but it is missing");
    Handle h(H5Gopen2(id(), path.c_str(), H5P_DEFAULT), H5Gclose);
    DXL_CHECK(h.valid(), FormatError, where(path), ": cannot open group");
    std::string p = m_path == "/" ? "/" + path : m_path + "/" + path;
    return Group(std::move(h), m_file, p);
}

Group Group::create_group(const std::string& path) const {
    auto parts = split_path(path);
    std::string cur;
    for (const auto& part : parts) {
        cur += (cur.empty() ? "" : "/") + part;
        if (H5Lexists(id(), cur.c_str(), H5P_DEFAULT) > 0) continue;
        Handle g(H5Gcreate2(id(), cur.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose);
        DXL_CHECK(g.valid(), IoError, where(cur), ": cannot create group");
    }
    return group(path);
}

std::vector<std::string> Group::members() const {
    std::vector<std::string> names;
    H5G_info_t info;
    DXL_CHECK(H5Gget_info(id(), &info) >= 0, FormatError, where(""), ": cannot list group");
    for (hsize_t i = 0; i < info.nlinks; ++i) {
        ssize_t n =
            H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (n < 0) continue;
        std::string s(static_cast<size_t>(n), '\0');
        H5Lget_name_by_idx(id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size() + 1,
                           H5P_DEFAULT);
        names.push_back(s);
    }
    return names;
}

Dims Group::dims(const std::string& name) const {
    DXL_CHECK(is_dataset(name), FormatError, where(name),
              ": expected a dataset, but it is missing");
    Handle ds(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    Handle sp(H5Dget_space(ds.id()), H5Sclose);
    int rank = H5Sget_simple_extent_ndims(sp.id());
    DXL_CHECK(rank >= 0, FormatError, where(name), ": cannot read dataspace");
    Dims d(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(sp.id(), d.data(), nullptr);
    return d;
}

template <typename T>
std::vector<T> Group::read(const std::string& name, Dims* dims_out) const {
    Dims d = dims(name);
    hsize_t n = 1;
    for (auto x : d)
        n *= x;
    std::vector<T> out(static_cast<size_t>(n));
    Handle ds(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    DXL_CHECK(ds.valid(), FormatError, where(name), ": cannot open dataset");
    if (n > 0) {
        herr_t st = H5Dread(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data());
        DXL_CHECK(st >= 0, FormatError, where(name),
                  ": cannot read dataset (type not convertible or data corrupt)");
    }
    if (dims_out) *dims_out = d;
    return out;
}

template <typename T>
void Group::write(const std::string& name, const T* data, const Dims& dims,
                  const Dims& chunk) const {
    auto slash = name.rfind('/');
    if (slash != std::string::npos) create_group(name.substr(0, slash));
    Handle sp(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    if (!chunk.empty()) {
        DXL_ASSERT(chunk.size() == dims.size(), "chunk rank must equal dataset rank");
        H5Pset_chunk(dcpl.id(), static_cast<int>(chunk.size()), chunk.data());
    }
    Handle ds(H5Dcreate2(id(), name.c_str(), native_type<T>(), sp.id(), H5P_DEFAULT, dcpl.id(),
                         H5P_DEFAULT),
              H5Dclose);
    DXL_CHECK(ds.valid(), IoError, where(name), ": cannot create dataset (does it already exist?)");
    herr_t st = H5Dwrite(ds.id(), native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    DXL_CHECK(st >= 0, IoError, where(name), ": cannot write dataset (disk full?)");
}

bool Group::has_attr(const std::string& attr, const std::string& object) const {
    Handle obj = open_object(id(), object);
    if (!obj.valid()) return false;
    return H5Aexists(obj.id(), attr.c_str()) > 0;
}

std::vector<std::string> Group::attr_names(const std::string& object) const {
    Handle obj = open_object(id(), object);
    DXL_CHECK(obj.valid(), FormatError, where(object), ": no such object");
    H5O_info_t info;
    H5Oget_info(obj.id(), &info);
    std::vector<std::string> names;
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
        ssize_t n = H5Aget_name_by_idx(obj.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0,
                                       H5P_DEFAULT);
        if (n < 0) continue;
        std::string s(static_cast<size_t>(n), '\0');
        H5Aget_name_by_idx(obj.id(), ".", H5_INDEX_NAME, H5_ITER_INC, i, s.data(), s.size() + 1,
                           H5P_DEFAULT);
        names.push_back(s);
    }
    return names;
}

namespace {
Handle open_attr(const Group& g, const std::string& attr, const std::string& object,
                 std::string* err_where) {
    Handle obj = open_object(g.id(), object);
    *err_where = g.file_name() + ":" + g.path() + (object.empty() ? "" : "/" + object) + "@" + attr;
    DXL_CHECK(obj.valid() && H5Aexists(obj.id(), attr.c_str()) > 0, FormatError, *err_where,
              ": expected an attribute, but it is missing");
    return Handle(H5Aopen(obj.id(), attr.c_str(), H5P_DEFAULT), H5Aclose);
}
}  // namespace

std::string Group::attr_string(const std::string& attr, const std::string& object) const {
    std::string w;
    Handle a = open_attr(*this, attr, object, &w);
    Handle type(H5Aget_type(a.id()), H5Tclose);
    DXL_CHECK(H5Tget_class(type.id()) == H5T_STRING, FormatError, w,
              ": expected a string attribute");
    if (H5Tis_variable_str(type.id()) > 0) {
        Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
        H5Tset_size(mem.id(), H5T_VARIABLE);
        H5Tset_cset(mem.id(), H5Tget_cset(type.id()));
        char* buf = nullptr;
        DXL_CHECK(H5Aread(a.id(), mem.id(), &buf) >= 0, FormatError, w, ": cannot read");
        std::string s = buf ? buf : "";
        Handle sp(H5Aget_space(a.id()), H5Sclose);
        H5Dvlen_reclaim(mem.id(), sp.id(), H5P_DEFAULT, &buf);
        return s;
    }
    size_t n = H5Tget_size(type.id());
    std::string s(n, '\0');
    DXL_CHECK(H5Aread(a.id(), type.id(), s.data()) >= 0, FormatError, w, ": cannot read");
    while (!s.empty() && s.back() == '\0')
        s.pop_back();
    return s;
}

double Group::attr_double(const std::string& attr, const std::string& object) const {
    std::string w;
    Handle a = open_attr(*this, attr, object, &w);
    double v = 0;
    DXL_CHECK(H5Aread(a.id(), H5T_NATIVE_DOUBLE, &v) >= 0, FormatError, w, ": expected a number");
    return v;
}

int64_t Group::attr_int(const std::string& attr, const std::string& object) const {
    std::string w;
    Handle a = open_attr(*this, attr, object, &w);
    int64_t v = 0;
    DXL_CHECK(H5Aread(a.id(), H5T_NATIVE_INT64, &v) >= 0, FormatError, w, ": expected an integer");
    return v;
}

namespace {
void write_attr(const Group& g, const std::string& attr, const std::string& object, hid_t type,
                const void* value) {
    Handle obj = open_object(g.id(), object);
    DXL_CHECK(obj.valid(), IoError, g.file_name(), ":", g.path(), "/", object, ": no such object");
    if (H5Aexists(obj.id(), attr.c_str()) > 0) H5Adelete(obj.id(), attr.c_str());
    Handle sp(H5Screate(H5S_SCALAR), H5Sclose);
    Handle a(H5Acreate2(obj.id(), attr.c_str(), type, sp.id(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
    DXL_CHECK(a.valid() && H5Awrite(a.id(), type, value) >= 0, IoError, g.file_name(), ":",
              g.path(), "@", attr, ": cannot write attribute");
}
}  // namespace

void Group::set_attr(const std::string& attr, const std::string& value,
                     const std::string& object) const {
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.id(), H5T_VARIABLE);
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    const char* p = value.c_str();
    write_attr(*this, attr, object, type.id(), &p);
}

void Group::set_attr(const std::string& attr, double value, const std::string& object) const {
    write_attr(*this, attr, object, H5T_NATIVE_DOUBLE, &value);
}

void Group::set_attr(const std::string& attr, int64_t value, const std::string& object) const {
    write_attr(*this, attr, object, H5T_NATIVE_INT64, &value);
}

namespace {

// File access list for Writes::CrashConsistent: the metadata cache never evicts (and so never
// writes) a dirty entry between flushes; its size stays fixed.
Handle crash_consistent_fapl() {
    Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    H5AC_cache_config_t cfg{};
    cfg.version = H5AC__CURR_CACHE_CONFIG_VERSION;
    DXL_CHECK(H5Pget_mdc_config(fapl.id(), &cfg) >= 0, InternalError,
              "HDF5: cannot read the metadata cache configuration");
    cfg.evictions_enabled = false;
    cfg.incr_mode = H5C_incr__off;
    cfg.flash_incr_mode = H5C_flash_incr__off;
    cfg.decr_mode = H5C_decr__off;
    DXL_CHECK(H5Pset_mdc_config(fapl.id(), &cfg) >= 0, InternalError,
              "HDF5: cannot disable metadata cache evictions");
    return fapl;
}

}  // namespace

File::File(const std::string& path, Mode mode, Writes writes) : m_path(path) {
    silence_hdf5_errors();
    const bool safe = writes == Writes::CrashConsistent && mode != Mode::ReadOnly;
    Handle fapl = safe ? crash_consistent_fapl() : Handle();
    const hid_t fapl_id = safe ? fapl.id() : H5P_DEFAULT;
    hid_t id = -1;
    if (mode == Mode::Truncate) {
        Handle fcpl;
        hid_t fcpl_id = H5P_DEFAULT;
        if (safe) {
            // Allocation from the end of the file only: space freed after a flush (a relocated
            // heap, say) is never handed to new data while the flushed metadata still points at it.
            fcpl = Handle(H5Pcreate(H5P_FILE_CREATE), H5Pclose);
            DXL_CHECK(H5Pset_file_space_strategy(fcpl.id(), H5F_FSPACE_STRATEGY_NONE, 0, 1) >= 0,
                      InternalError, "HDF5: cannot set the file space strategy");
            fcpl_id = fcpl.id();
        }
        id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl_id, fapl_id);
        DXL_CHECK(id >= 0, IoError, path, ": cannot create HDF5 file (is the folder writable?)");
    } else {
        DXL_CHECK(std::filesystem::exists(path), IoError, path, ": no such file");
        DXL_CHECK(H5Fis_hdf5(path.c_str()) > 0, FormatError, path,
                  ": not an HDF5 file (truncated or a different format)");
        id = H5Fopen(path.c_str(), mode == Mode::ReadOnly ? H5F_ACC_RDONLY : H5F_ACC_RDWR, fapl_id);
        DXL_CHECK(id >= 0, FormatError, path,
                  ": cannot open HDF5 file (corrupt or locked by another process)");
    }
    m_file = Handle(id, H5Fclose);
    Handle root(H5Gopen2(id, "/", H5P_DEFAULT), H5Gclose);
    m_root = Group(std::move(root), path, "/");
}

Group File::open_group_at(uint64_t address, const std::string& label) const {
    Handle h(H5Oopen_by_addr(m_file.id(), static_cast<haddr_t>(address)), H5Oclose);
    DXL_CHECK(h.valid() && H5Iget_type(h.id()) == H5I_GROUP, FormatError, m_path, ": ", label,
              ": no group at address ", address, " (damaged file)");
    return Group(std::move(h), m_path, label);
}

void File::flush() const {
    DXL_CHECK(H5Fflush(m_file.id(), H5F_SCOPE_GLOBAL) >= 0, IoError, m_path,
              ": flush failed (disk full?)");
}

void File::close() {
    if (!m_file.valid()) return;
    m_root = Group();
    const hid_t id = m_file.release();  // closed (or unusable) after H5Fclose either way
    const herr_t st = H5Fclose(id);
    DXL_CHECK(st >= 0, IoError, m_path, ": closing the file failed (disk full?)");
}

#define DXL_H5_INSTANTIATE(T)                                                \
    template std::vector<T> Group::read<T>(const std::string&, Dims*) const; \
    template void Group::write<T>(const std::string&, const T*, const Dims&, const Dims&) const;
DXL_H5_INSTANTIATE(float)
DXL_H5_INSTANTIATE(double)
DXL_H5_INSTANTIATE(int64_t)
DXL_H5_INSTANTIATE(int32_t)
DXL_H5_INSTANTIATE(uint8_t)
DXL_H5_INSTANTIATE(int8_t)
DXL_H5_INSTANTIATE(uint16_t)
#undef DXL_H5_INSTANTIATE

}  // namespace dxl::h5
