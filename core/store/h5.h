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

// Compression filters dxl writes. Lzf is h5py's filter (id 32000), which plain h5py reads
// without plugins; the C library needs Debian's hdf5-plugin-lzf (see filter_available).
// ShuffleLzf runs HDF5's built-in byte shuffle first (also read by plain h5py).
enum class Filter { None, Lzf, ShuffleLzf, Gzip };
const char* to_string(Filter f) noexcept;
Filter parse_filter(const std::string& s);  // "none|lzf|shuffle-lzf|gzip", ValueError otherwise
// Whether the filter can encode in this process. For Lzf this loads the HDF5 plugin (after
// preloading liblzf.so.1, which Debian's plugin needs but does not link).
bool filter_available(Filter f);

struct DatasetOptions {
    Dims chunk;                    // empty: contiguous layout (no filter possible)
    Filter filter = Filter::None;  // registered as optional: incompressible chunks stay raw
    int gzip_level = 1;
};

// Stored type of a dataset, in plain words.
struct DatasetInfo {
    Dims dims;
    // "float16", "float32", "float64", "int64", "int32", "uint8", "uint64", "string", "other"
    std::string type;
    size_t elem_size = 0;  // bytes per element in the file
    Filter filter = Filter::None;
    Dims chunk;                 // empty: contiguous
    hsize_t storage_bytes = 0;  // bytes allocated in the file
};

// A 16-bit IEEE 754 half-precision file/memory type (HDF5 1.10 has no native float16; h5py
// reads this type as numpy float16). Owned by the library; never close it.
hid_t float16_type();

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
    // Gives up ownership without closing.
    hid_t release() noexcept {
        hid_t id = m_id;
        m_id = -1;
        return id;
    }

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

    bool exists(const std::string& path) const;  // any object (group or dataset)
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
    void write(const std::string& name, const T* data, const Dims& dims,
               const Dims& chunk = {}) const;
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
    void set_attr(const std::string& attr, const std::string& value,
                  const std::string& object = "") const;
    void set_attr(const std::string& attr, const char* value,
                  const std::string& object = "") const {
        set_attr(attr, std::string(value), object);
    }
    void set_attr(const std::string& attr, double value, const std::string& object = "") const;
    void set_attr(const std::string& attr, int64_t value, const std::string& object = "") const;
    // A 1-D array of strings (NeXus `axes`).
    void set_attr(const std::string& attr, const std::vector<std::string>& values,
                  const std::string& object = "") const;

    // --- Typed raw datasets, filters, hyperslabs (implemented in h5_dataset.cpp) ---
    // Creates `name` with file type `type` and writes `data` given in that same type (no
    // conversion). Intermediate groups are created.
    void write_raw(const std::string& name, hid_t type, const void* data, const Dims& dims,
                   const DatasetOptions& opts) const;
    // Reads the block [offset, offset + count) of `name` converted to `mem_type` into `out`
    // (empty offset/count = whole dataset). Only the chunks the block touches are read.
    void read_raw(const std::string& name, hid_t mem_type, void* out, const Dims& offset = {},
                  const Dims& count = {}) const;
    DatasetInfo dataset_info(const std::string& name) const;
    // Variable-length UTF-8 string datasets (1-D).
    void write_strings(const std::string& name, const std::vector<std::string>& values) const;
    std::vector<std::string> read_strings(const std::string& name) const;
    // 1-D extensible dataset (unlimited maximum size), created empty; append() adds n elements
    // given in `type`.
    void create_extensible(const std::string& name, hid_t type, hsize_t chunk) const;
    void append(const std::string& name, hid_t type, const void* data, hsize_t n) const;
    // Removes a link (the object's space is not reclaimed in place).
    void remove(const std::string& name) const;
    // Copies every attribute of this group onto `dest` (same types).
    void copy_attrs_to(const Group& dest) const;
    void remove_attr(const std::string& attr, const std::string& object = "") const;
    // Copies object `name` (recursively) to `dest` under `dest_name`.
    void copy_to(const std::string& name, const Group& dest, const std::string& dest_name) const;
    // The object header address of this group: a handle to it that needs no link (see
    // File::open_group_at).
    uint64_t address() const;

  private:
    std::string where(const std::string& name) const;
    Handle m_handle;
    std::string m_file;
    std::string m_path;
};

class File {
  public:
    enum class Mode { ReadOnly, ReadWrite, Truncate };
    // CrashConsistent (writers that must survive kill -9 between flushes): dirty metadata stays
    // in the cache until flush() (no evictions) and freed file space is never reused (space
    // strategy NONE, a creation property), so what the last flush wrote is never overwritten
    // before the next flush. Costs some file space when objects are rewritten.
    enum class Writes { Normal, CrashConsistent };
    File(const std::string& path, Mode mode, Writes writes = Writes::Normal);
    Group& root() noexcept { return m_root; }
    const Group& root() const noexcept { return m_root; }
    const std::string& path() const noexcept { return m_path; }
    void flush() const;
    // Opens the group whose object header is at `address` (Group::address), without a link
    // lookup: crash recovery reaches committed groups even when their parent's links are torn.
    Group open_group_at(uint64_t address, const std::string& label) const;
    // Closes the file now and reports failure (e.g. a disk full at the final metadata write),
    // which the destructor cannot.
    void close();

  private:
    std::string m_path;
    Handle m_file;
    Group m_root;
};

// Silences HDF5's automatic error printing on the calling thread (idempotent); every file open
// calls it, so worker threads are covered too.
void silence_hdf5_errors();

}  // namespace dxl::h5
