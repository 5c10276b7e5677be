// Typed raw datasets for the HDF5 wrapper: half-float type, compression filters (LZF plugin
// check), hyperslab reads, string datasets, 1-D extensible datasets and object copy.
#include <dlfcn.h>

#include <cstring>
#include <mutex>

#include "core/base/error.h"
#include "core/store/h5.h"

namespace dxl::h5 {

namespace {
constexpr H5Z_filter_t kLzfFilterId = 32000;  // h5py's LZF filter

// HDF5 1.10 crashes in its atexit cleanup (H5F__close_cb) when a file whose H5Fclose failed
// (e.g. disk full) is still registered. dxl closes every file through RAII, so the library's
// exit-time cleanup is not needed: turn it off before HDF5 initialises.
const bool kNoAtexit = [] {
    H5dont_atexit();
    return true;
}();

std::string where_of(const Group& g, const std::string& name) {
    return g.file_name() + ":" + (g.path() == "/" ? "/" + name : g.path() + "/" + name);
}

Handle open_dataset(const Group& g, const std::string& name) {
    DXL_CHECK(g.is_dataset(name), FormatError, where_of(g, name),
              ": expected a dataset, but it is missing");
    Handle ds(H5Dopen2(g.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
    DXL_CHECK(ds.valid(), FormatError, where_of(g, name), ": cannot open dataset (damaged file?)");
    return ds;
}
}  // namespace

const char* to_string(Filter f) noexcept {
    switch (f) {
        case Filter::None:
            return "none";
        case Filter::Lzf:
            return "lzf";
        case Filter::ShuffleLzf:
            return "shuffle-lzf";
        case Filter::Gzip:
            return "gzip";
    }
    return "none";
}

Filter parse_filter(const std::string& s) {
    if (s == "none") return Filter::None;
    if (s == "lzf") return Filter::Lzf;
    if (s == "shuffle-lzf") return Filter::ShuffleLzf;
    if (s == "gzip") return Filter::Gzip;
    throw ValueError("compression: expected none, lzf, shuffle-lzf or gzip, but got '" + s + "'");
}

bool filter_available(Filter f) {
    silence_hdf5_errors();
    switch (f) {
        case Filter::None:
            return true;
        case Filter::Gzip:
            return H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0;
        case Filter::ShuffleLzf:
        case Filter::Lzf: {
            static std::once_flag once;
            // Debian's liblzf_filter.so uses lzf_compress/lzf_decompress but does not link
            // liblzf: make its symbols global before HDF5 dlopens the plugin.
            std::call_once(once, [] { dlopen("liblzf.so.1", RTLD_NOW | RTLD_GLOBAL); });
            if (H5Zfilter_avail(kLzfFilterId) <= 0) return false;
            unsigned int flags = 0;
            if (H5Zget_filter_info(kLzfFilterId, &flags) < 0) return false;
            return (flags & H5Z_FILTER_CONFIG_ENCODE_ENABLED) != 0;
        }
    }
    return false;
}

hid_t float16_type() {
    static hid_t type = [] {
        hid_t t = H5Tcopy(H5T_IEEE_F32LE);
        H5Tset_fields(t, 15, 10, 5, 0, 10);
        H5Tset_size(t, 2);
        H5Tset_ebias(t, 15);
        H5Tlock(t);
        return t;
    }();
    return type;
}

void Group::write_raw(const std::string& name, hid_t type, const void* data, const Dims& dims,
                      const DatasetOptions& opts) const {
    auto slash = name.rfind('/');
    if (slash != std::string::npos) create_group(name.substr(0, slash));
    Handle sp(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_fill_time(dcpl.id(), H5D_FILL_TIME_NEVER);
    if (!opts.chunk.empty()) {
        DXL_ASSERT(opts.chunk.size() == dims.size(), "chunk rank must equal dataset rank");
        H5Pset_chunk(dcpl.id(), static_cast<int>(opts.chunk.size()), opts.chunk.data());
        if (opts.filter == Filter::ShuffleLzf) H5Pset_shuffle(dcpl.id());
        if (opts.filter == Filter::Lzf || opts.filter == Filter::ShuffleLzf) {
            DXL_CHECK(H5Pset_filter(dcpl.id(), kLzfFilterId, H5Z_FLAG_OPTIONAL, 0, nullptr) >= 0,
                      IoError, where_of(*this, name),
                      ": cannot set the LZF filter; try --compression none");
        } else if (opts.filter == Filter::Gzip) {
            H5Pset_deflate(dcpl.id(), static_cast<unsigned>(opts.gzip_level));
        }
    }
    Handle ds(H5Dcreate2(id(), name.c_str(), type, sp.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
              H5Dclose);
    DXL_CHECK(ds.valid(), IoError, where_of(*this, name),
              ": cannot create dataset (exists already, or disk full?)");
    bool empty = false;
    for (auto d : dims)
        empty = empty || d == 0;
    if (!empty) {
        herr_t st = H5Dwrite(ds.id(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
        DXL_CHECK(st >= 0, IoError, where_of(*this, name), ": cannot write dataset (disk full?)");
    }
}

void Group::read_raw(const std::string& name, hid_t mem_type, void* out, const Dims& offset,
                     const Dims& count) const {
    Handle ds = open_dataset(*this, name);
    Handle fsp(H5Dget_space(ds.id()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(fsp.id());
    DXL_CHECK(rank >= 0, FormatError, where_of(*this, name),
              ": cannot read its dataspace (damaged file?)");
    Dims full(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(fsp.id(), full.data(), nullptr);
    Dims off = offset.empty() ? Dims(full.size(), 0) : offset;
    Dims cnt = count.empty() ? full : count;
    DXL_CHECK(off.size() == full.size() && cnt.size() == full.size(), ShapeError,
              where_of(*this, name), ": expected a slice of rank ", full.size(),
              ", but got offset rank ", off.size(), " and count rank ", cnt.size());
    hsize_t n = 1;
    for (size_t i = 0; i < full.size(); ++i) {
        DXL_CHECK(off[i] + cnt[i] <= full[i], ShapeError, where_of(*this, name), ": slice [",
                  off[i], ", ", off[i] + cnt[i], ") of dimension ", i, " is outside its size ",
                  full[i]);
        n *= cnt[i];
    }
    if (n == 0) return;
    Handle msp(H5Screate_simple(rank, cnt.data(), nullptr), H5Sclose);
    if (rank > 0) {
        DXL_CHECK(H5Sselect_hyperslab(fsp.id(), H5S_SELECT_SET, off.data(), nullptr, cnt.data(),
                                      nullptr) >= 0,
                  InternalError, where_of(*this, name), ": cannot select the slice");
    }
    herr_t st = H5Dread(ds.id(), mem_type, rank > 0 ? msp.id() : H5S_ALL,
                        rank > 0 ? fsp.id() : H5S_ALL, H5P_DEFAULT, out);
    DXL_CHECK(st >= 0, FormatError, where_of(*this, name),
              ": cannot read dataset (type not convertible, missing filter, or data damaged)");
}

DatasetInfo Group::dataset_info(const std::string& name) const {
    Handle ds = open_dataset(*this, name);
    DatasetInfo info;
    info.dims = dims(name);
    Handle type(H5Dget_type(ds.id()), H5Tclose);
    DXL_CHECK(type.valid(), FormatError, where_of(*this, name),
              ": cannot read its type (damaged file?)");
    info.elem_size = H5Tget_size(type.id());
    const H5T_class_t cls = H5Tget_class(type.id());
    if (cls == H5T_FLOAT) {
        info.type = info.elem_size == 2   ? "float16"
                    : info.elem_size == 4 ? "float32"
                    : info.elem_size == 8 ? "float64"
                                          : "other";
    } else if (cls == H5T_INTEGER) {
        const bool is_signed = H5Tget_sign(type.id()) == H5T_SGN_2;
        info.type = (is_signed ? "int" : "uint") + std::to_string(8 * info.elem_size);
    } else if (cls == H5T_STRING) {
        info.type = "string";
    } else {
        info.type = "other";
    }
    Handle dcpl(H5Dget_create_plist(ds.id()), H5Pclose);
    if (H5Pget_layout(dcpl.id()) == H5D_CHUNKED) {
        info.chunk.resize(info.dims.size());
        H5Pget_chunk(dcpl.id(), static_cast<int>(info.chunk.size()), info.chunk.data());
        const int nf = H5Pget_nfilters(dcpl.id());
        for (int i = 0; i < nf; ++i) {
            unsigned flags = 0;
            size_t nelem = 0;
            unsigned cfg = 0;
            H5Z_filter_t fid = H5Pget_filter2(dcpl.id(), static_cast<unsigned>(i), &flags, &nelem,
                                              nullptr, 0, nullptr, &cfg);
            if (fid == kLzfFilterId)
                info.filter = info.filter == Filter::ShuffleLzf ? info.filter : Filter::Lzf;
            if (fid == H5Z_FILTER_SHUFFLE) info.filter = Filter::ShuffleLzf;
            if (fid == H5Z_FILTER_DEFLATE) info.filter = Filter::Gzip;
        }
    }
    info.storage_bytes = H5Dget_storage_size(ds.id());
    return info;
}

void Group::write_strings(const std::string& name, const std::vector<std::string>& values) const {
    auto slash = name.rfind('/');
    if (slash != std::string::npos) create_group(name.substr(0, slash));
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.id(), H5T_VARIABLE);
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    hsize_t n = values.size();
    Handle sp(H5Screate_simple(1, &n, nullptr), H5Sclose);
    Handle ds(
        H5Dcreate2(id(), name.c_str(), type.id(), sp.id(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
        H5Dclose);
    DXL_CHECK(ds.valid(), IoError, where_of(*this, name), ": cannot create string dataset");
    std::vector<const char*> ptrs;
    ptrs.reserve(values.size());
    for (const auto& v : values)
        ptrs.push_back(v.c_str());
    if (n > 0) {
        DXL_CHECK(H5Dwrite(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0,
                  IoError, where_of(*this, name), ": cannot write string dataset (disk full?)");
    }
}

std::vector<std::string> Group::read_strings(const std::string& name) const {
    Handle ds = open_dataset(*this, name);
    Handle ftype(H5Dget_type(ds.id()), H5Tclose);
    DXL_CHECK(H5Tget_class(ftype.id()) == H5T_STRING && H5Tis_variable_str(ftype.id()) > 0,
              FormatError, where_of(*this, name), ": expected variable-length strings");
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.id(), H5T_VARIABLE);
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    Dims d = dims(name);
    DXL_CHECK(d.size() == 1, ShapeError, where_of(*this, name), ": expected a 1-D string dataset");
    std::vector<char*> ptrs(d[0], nullptr);
    std::vector<std::string> out;
    if (d[0] == 0) return out;
    DXL_CHECK(H5Dread(ds.id(), type.id(), H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()) >= 0,
              FormatError, where_of(*this, name), ": cannot read strings (damaged file?)");
    out.reserve(ptrs.size());
    for (char* p : ptrs)
        out.emplace_back(p ? p : "");
    Handle sp(H5Dget_space(ds.id()), H5Sclose);
    H5Dvlen_reclaim(type.id(), sp.id(), H5P_DEFAULT, ptrs.data());
    return out;
}

void Group::create_extensible(const std::string& name, hid_t type, hsize_t chunk) const {
    hsize_t zero = 0;
    hsize_t unlimited = H5S_UNLIMITED;
    Handle sp(H5Screate_simple(1, &zero, &unlimited), H5Sclose);
    Handle dcpl(H5Pcreate(H5P_DATASET_CREATE), H5Pclose);
    H5Pset_chunk(dcpl.id(), 1, &chunk);
    Handle ds(H5Dcreate2(id(), name.c_str(), type, sp.id(), H5P_DEFAULT, dcpl.id(), H5P_DEFAULT),
              H5Dclose);
    DXL_CHECK(ds.valid(), IoError, where_of(*this, name), ": cannot create extensible dataset");
}

void Group::append(const std::string& name, hid_t type, const void* data, hsize_t n) const {
    Handle ds = open_dataset(*this, name);
    Dims d = dims(name);
    DXL_CHECK(d.size() == 1, ShapeError, where_of(*this, name),
              ": expected a 1-D extensible dataset");
    hsize_t new_size = d[0] + n;
    DXL_CHECK(H5Dset_extent(ds.id(), &new_size) >= 0, IoError, where_of(*this, name),
              ": cannot extend (disk full?)");
    Handle fsp(H5Dget_space(ds.id()), H5Sclose);
    hsize_t off = d[0];
    H5Sselect_hyperslab(fsp.id(), H5S_SELECT_SET, &off, nullptr, &n, nullptr);
    Handle msp(H5Screate_simple(1, &n, nullptr), H5Sclose);
    DXL_CHECK(H5Dwrite(ds.id(), type, msp.id(), fsp.id(), H5P_DEFAULT, data) >= 0, IoError,
              where_of(*this, name), ": cannot append (disk full?)");
}

void Group::remove(const std::string& name) const {
    DXL_CHECK(H5Ldelete(id(), name.c_str(), H5P_DEFAULT) >= 0, IoError, where_of(*this, name),
              ": cannot remove");
}

void Group::copy_to(const std::string& name, const Group& dest,
                    const std::string& dest_name) const {
    DXL_CHECK(
        H5Ocopy(id(), name.c_str(), dest.id(), dest_name.c_str(), H5P_DEFAULT, H5P_DEFAULT) >= 0,
        IoError, where_of(*this, name), ": cannot copy to ", dest.file_name(),
        " (damaged object or disk full?)");
}

void Group::set_attr(const std::string& attr, const std::vector<std::string>& values,
                     const std::string& object) const {
    Handle obj(object.empty() ? H5Oopen(id(), ".", H5P_DEFAULT)
                              : H5Oopen(id(), object.c_str(), H5P_DEFAULT),
               H5Oclose);
    DXL_CHECK(obj.valid(), IoError, where_of(*this, object), ": no such object");
    if (H5Aexists(obj.id(), attr.c_str()) > 0) H5Adelete(obj.id(), attr.c_str());
    Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(type.id(), H5T_VARIABLE);
    H5Tset_cset(type.id(), H5T_CSET_UTF8);
    hsize_t n = values.size();
    Handle sp(H5Screate_simple(1, &n, nullptr), H5Sclose);
    std::vector<const char*> ptrs;
    for (const auto& v : values)
        ptrs.push_back(v.c_str());
    Handle a(H5Acreate2(obj.id(), attr.c_str(), type.id(), sp.id(), H5P_DEFAULT, H5P_DEFAULT),
             H5Aclose);
    DXL_CHECK(a.valid() && H5Awrite(a.id(), type.id(), ptrs.data()) >= 0, IoError,
              where_of(*this, object), "@", attr, ": cannot write attribute");
}

uint64_t Group::address() const {
    H5O_info_t info{};
    DXL_CHECK(H5Oget_info2(id(), &info, H5O_INFO_BASIC) >= 0, FormatError, where_of(*this, ""),
              ": cannot read the object header");
    return static_cast<uint64_t>(info.addr);
}

void Group::copy_attrs_to(const Group& dest) const {
    for (const auto& name : attr_names()) {
        Handle a(H5Aopen(id(), name.c_str(), H5P_DEFAULT), H5Aclose);
        DXL_CHECK(a.valid(), FormatError, where_of(*this, ""), "@", name,
                  ": cannot open attribute (damaged?)");
        Handle type(H5Aget_type(a.id()), H5Tclose);
        Handle space(H5Aget_space(a.id()), H5Sclose);
        const hssize_t n = H5Sget_simple_extent_npoints(space.id());
        const size_t size = H5Tget_size(type.id());
        DXL_CHECK(n >= 0 && size > 0, FormatError, where_of(*this, ""), "@", name,
                  ": unreadable attribute");
        std::vector<unsigned char> buf(static_cast<size_t>(n) * size + 1);
        DXL_CHECK(H5Aread(a.id(), type.id(), buf.data()) >= 0, FormatError, where_of(*this, ""),
                  "@", name, ": cannot read attribute (damaged?)");
        if (H5Aexists(dest.id(), name.c_str()) > 0) H5Adelete(dest.id(), name.c_str());
        Handle b(
            H5Acreate2(dest.id(), name.c_str(), type.id(), space.id(), H5P_DEFAULT, H5P_DEFAULT),
            H5Aclose);
        const bool ok = b.valid() && H5Awrite(b.id(), type.id(), buf.data()) >= 0;
        if (H5Tdetect_class(type.id(), H5T_VLEN) > 0 || H5Tis_variable_str(type.id()) > 0) {
            H5Dvlen_reclaim(type.id(), space.id(), H5P_DEFAULT, buf.data());
        }
        DXL_CHECK(ok, IoError, dest.file_name(), "@", name,
                  ": cannot write attribute (disk full?)");
    }
}

void Group::remove_attr(const std::string& attr, const std::string& object) const {
    Handle obj(object.empty() ? H5Oopen(id(), ".", H5P_DEFAULT)
                              : H5Oopen(id(), object.c_str(), H5P_DEFAULT),
               H5Oclose);
    if (obj.valid() && H5Aexists(obj.id(), attr.c_str()) > 0) H5Adelete(obj.id(), attr.c_str());
}

}  // namespace dxl::h5
