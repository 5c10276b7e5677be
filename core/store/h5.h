// Thin RAII wrapper over the HDF5 C API (HighFive is not packaged in Debian 12).
//
// Covers what dxl needs: files, nested groups, numeric datasets (read with conversion to the
// requested type, written contiguous or chunked), and scalar/string attributes. Every failure
// throws a dxl error naming the file and object; HDF5's own error stack printing is silenced.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace dxl::h5 {

using Dims = std::vector<hsize_t>;

// Owns one hid_t and closes it with the matching H5*close on destruction.
class Handle {
public:
    using Closer = herr_t (*)(hid_t);
    Handle() = default;
    Handle(hid_t id, Closer closer) : m_id(id), m_closer(closer) {}
    ~Handle() { reset(); }
    Handle(Handle&& o) noexcept : m_id(o.m_id), m_closer(o.m_closer) { o.m_id = -1; }
    Handle& operator=(Handle&& o) noexcept;
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    hid_t id() const noexcept { return m_id; }
    bool valid() const noexcept { return m_id >= 0; }
    void reset() noexcept;

private:
    hid_t m_id = -1;
    Closer m_closer = nullptr;
};

// A group (or the file root). Paths may be nested ("a/b/c").
class Group {
public:
    Group() = default;
    Group(Handle h, std::string file, std::string path)
        : m_handle(std::move(h)), m_file(std::move(file)), m_path(std::move(path)) {}

    hid_t id() const noexcept { return m_handle.id(); }
    const std::string& path() const noexcept { return m_path; }
    const std::string& file_name() const noexcept { return m_file; }

    bool exists(const std::string& path) const;        // any object (group or dataset)
    bool is_group(const std::string& path) const;
    bool is_dataset(const std::string& path) const;
    Group group(const std::string& path) const;         // open existing
    Group create_group(const std::string& path) const;  // creates missing intermediates
    std::vector<std::string> members() const;           // names in creation/name order

    // Datasets. read<T> converts from the stored numeric type to T.
    Dims dims(const std::string& name) const;
    template <typename T>
    std::vector<T> read(const std::string& name, Dims* dims_out = nullptr) const;
    // chunk empty: contiguous layout.
    template <typename T>
    void write(const std::string& name, const T* data, const Dims& dims, const Dims& chunk = {}) const;
    template <typename T>
    void write(const std::string& name, const std::vector<T>& data, const Dims& dims,
               const Dims& chunk = {}) const {
        write<T>(name, data.data(), dims, chunk);
    }

    // Attributes on this group (object = "") or on a member object.
    bool has_attr(const std::string& attr, const std::string& object = "") const;
    std::vector<std::string> attr_names(const std::string& object = "") const;
    std::string attr_string(const std::string& attr, const std::string& object = "") const;
    double attr_double(const std::string& attr, const std::string& object = "") const;
    int64_t attr_int(const std::string& attr, const std::string& object = "") const;
    void set_attr(const std::string& attr, const std::string& value, const std::string& object = "") const;
    void set_attr(const std::string& attr, const char* value, const std::string& object = "") const {
        set_attr(attr, std::string(value), object);
    }
    void set_attr(const std::string& attr, double value, const std::string& object = "") const;
    void set_attr(const std::string& attr, int64_t value, const std::string& object = "") const;

private:
    std::string where(const std::string& name) const;
    Handle m_handle;
    std::string m_file;
    std::string m_path;
};

class File {
public:
    enum class Mode { ReadOnly, ReadWrite, Truncate };
    File(const std::string& path, Mode mode);
    Group& root() noexcept { return m_root; }
    const Group& root() const noexcept { return m_root; }
    const std::string& path() const noexcept { return m_path; }
    void flush() const;

private:
    std::string m_path;
    Handle m_file;
    Group m_root;
};

// Silences HDF5's automatic error printing for this process (idempotent).
void silence_hdf5_errors();

}  // namespace dxl::h5
