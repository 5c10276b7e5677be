// Capture reader: validation at open, lazy hyperslab reads, integrity check and repair.
#include "core/store/capture_reader.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/base/error.h"

namespace dxl::store {
namespace fs = std::filesystem;

namespace {

// Recursively lists the datasets under `g` as paths relative to it.
void list_datasets(const h5::Group& g, const std::string& prefix, std::vector<std::string>& out,
                   int depth) {
    DXL_CHECK(depth < 16, FormatError, g.file_name(), ":", g.path(),
              ": groups nested too deep (damaged file?)");
    for (const auto& name : g.members()) {
        if (g.is_dataset(name)) {
            out.push_back(prefix + name);
        } else if (g.is_group(name)) {
            list_datasets(g.group(name), prefix + name + "/", out, depth + 1);
        }
    }
}

hid_t raw_mem_type(const h5::DatasetInfo& info) {
    if (info.type == "float16") return h5::float16_type();
    if (info.type == "float32") return H5T_NATIVE_FLOAT;
    if (info.type == "float64") return H5T_NATIVE_DOUBLE;
    if (info.type == "int64") return H5T_NATIVE_INT64;
    if (info.type == "int32") return H5T_NATIVE_INT32;
    if (info.type == "uint8") return H5T_NATIVE_UINT8;
    if (info.type == "uint64") return H5T_NATIVE_UINT64;
    return -1;
}

uint64_t parse_hex64(const std::string& s) {
    return static_cast<uint64_t>(std::stoull(s, nullptr, 16));
}

}  // namespace

CaptureReader::CaptureReader(const std::string& path) : CaptureReader(path, Open::Strict) {}

CaptureReader::CaptureReader(const std::string& path, Open open) : m_path(path) {
    const bool salvage = open == Open::Salvage;
    h5::filter_available(h5::Filter::Lzf);  // makes the LZF plugin loadable for reading
    m_file = std::make_unique<h5::File>(path, h5::File::Mode::ReadOnly);
    const h5::Group& r = m_file->root();
    DXL_CHECK(r.has_attr("format"), FormatError, path,
              ": not a dxl capture file (no `format` attribute); write one with `dxl capture`");
    const std::string format = r.attr_string("format");
    DXL_CHECK(format == kCaptureFormat, FormatError, path, ": expected format \"", kCaptureFormat,
              "\", but got \"", format, "\"; this file was written by something else");
    DXL_CHECK(r.has_attr("schema_version"), FormatError, path,
              ": damaged: the schema_version attribute is missing");
    const int64_t version = r.attr_int("schema_version");
    if (version != kCaptureSchemaVersion) {
        throw UnsupportedVersion(path + ": capture schema", version, kCaptureSchemaVersion);
    }
    DXL_CHECK(r.is_group(kManifestGroup), FormatError, path,
              ": damaged: the /manifest group is missing");
    const h5::Group man = r.group(kManifestGroup);
    DXL_CHECK(man.has_attr("count"), FormatError, path,
              ": damaged: /manifest has no `count` attribute");
    int64_t count = man.attr_int("count");
    const auto idx = man.read<int64_t>("sample_index");
    std::vector<uint64_t> sums(idx.size());
    h5::Dims dsum = man.dims("checksum");
    DXL_CHECK(dsum.size() == 1, FormatError, path, ": damaged: /manifest/checksum is not 1-D");
    sums.resize(dsum[0]);
    if (!sums.empty()) man.read_raw("checksum", H5T_NATIVE_UINT64, sums.data());
    const auto nds = man.read<int64_t>("n_datasets");
    int64_t usable = std::min({static_cast<int64_t>(idx.size()), static_cast<int64_t>(sums.size()),
                               static_cast<int64_t>(nds.size())});
    if (salvage && count > usable) {
        // Killed while the manifest was being flushed: the count attribute got ahead.
        m_salvage_notes.push_back("/manifest count " + std::to_string(count) +
                                  " exceeds its entries (" + std::to_string(usable) +
                                  "); the extra samples are not committed");
        count = usable;
    }
    DXL_CHECK(count >= 0 && count <= usable, FormatError, path, ": damaged: /manifest count ",
              count, " exceeds its entries (", idx.size(), ")");
    for (int64_t i = 0; i < count; ++i) {
        const bool entry_ok = idx[i] == i;
        const bool group_ok = entry_ok && r.is_group(sample_group_name(i));
        if (salvage && !group_ok) {
            m_salvage_notes.push_back(
                "/manifest entry " + std::to_string(i) +
                (entry_ok ? " names a missing sample group" : " is inconsistent") +
                ": it and later entries are not kept");
            break;
        }
        DXL_CHECK(entry_ok, FormatError, path, ": damaged: /manifest entry ", i, " names sample ",
                  idx[i]);
        DXL_CHECK(group_ok, FormatError, path, ": damaged: committed sample ", sample_group_name(i),
                  " is missing");
        m_manifest.push_back(ManifestEntry{i, sums[i], nds[i]});
    }
}

CaptureReader::~CaptureReader() = default;

const h5::Group& CaptureReader::root() const {
    return m_file->root();
}

std::string CaptureReader::attr(const std::string& name) const {
    const h5::Group& r = m_file->root();
    if (!r.has_attr(name)) return "";
    try {
        return r.attr_string(name);
    } catch (const FormatError&) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "%g", r.attr_double(name));
        return buf;
    }
}

std::string CaptureReader::sample_path(int64_t sample, const std::string& path) const {
    DXL_CHECK(sample >= 0 && sample < num_samples(), ValueError, m_path, ": sample ", sample,
              " is not committed (the file holds ", num_samples(), ")");
    return sample_group_name(sample) + (path.empty() ? "" : "/" + path);
}

std::vector<std::string> CaptureReader::datasets(int64_t sample) const {
    std::vector<std::string> out;
    list_datasets(m_file->root().group(sample_path(sample, "")), "", out, 0);
    std::sort(out.begin(), out.end());
    return out;
}

bool CaptureReader::has(int64_t sample, const std::string& path) const {
    return m_file->root().is_dataset(sample_path(sample, path));
}

h5::DatasetInfo CaptureReader::info(int64_t sample, const std::string& path) const {
    return m_file->root().dataset_info(sample_path(sample, path));
}

std::string CaptureReader::dataset_attr(int64_t sample, const std::string& path,
                                        const std::string& attr) const {
    const std::string p = sample_path(sample, path);
    const h5::Group& r = m_file->root();
    if (!r.has_attr(attr, p)) return "";
    return r.attr_string(attr, p);
}

std::vector<int64_t> CaptureReader::heads(int64_t sample, const std::string& path) const {
    const std::string s = dataset_attr(sample, path, "heads");
    std::vector<int64_t> out;
    if (s.empty()) {
        const h5::DatasetInfo i = info(sample, path);
        DXL_CHECK(!i.dims.empty(), ShapeError, m_path, ": ", path,
                  " is a scalar, not a per-head dataset");
        for (hsize_t h = 0; h < i.dims[0]; ++h)
            out.push_back(static_cast<int64_t>(h));
        return out;
    }
    size_t start = 0;
    while (start <= s.size()) {
        size_t comma = s.find(',', start);
        if (comma == std::string::npos) comma = s.size();
        out.push_back(std::stoll(s.substr(start, comma - start)));
        start = comma + 1;
    }
    return out;
}

std::vector<float> CaptureReader::read_float(int64_t sample, const std::string& path,
                                             const h5::Dims& offset, const h5::Dims& count) const {
    const std::string p = sample_path(sample, path);
    const h5::Group& r = m_file->root();
    const h5::DatasetInfo i = r.dataset_info(p);
    const h5::Dims& extent = count.empty() ? i.dims : count;
    size_t n = 1;
    for (auto d : extent)
        n *= d;
    std::vector<float> out(n);
    if (n == 0) return out;
    if (i.type == "float16") {
        std::vector<uint16_t> raw(
            n);  // stored bits, converted here (exact, and faster than HDF5's soft path)
        r.read_raw(p, h5::float16_type(), raw.data(), offset, count);
        half_to_float(raw.data(), out.data(), n);
    } else {
        DXL_CHECK(i.type != "string" && i.type != "other", FormatError, m_path, ":/", p,
                  ": expected numbers, but it holds ", i.type);
        r.read_raw(p, H5T_NATIVE_FLOAT, out.data(), offset, count);
    }
    return out;
}

std::vector<int64_t> CaptureReader::read_int(int64_t sample, const std::string& path) const {
    return m_file->root().read<int64_t>(sample_path(sample, path));
}

std::vector<std::string> CaptureReader::read_strings(int64_t sample,
                                                     const std::string& path) const {
    return m_file->root().read_strings(sample_path(sample, path));
}

namespace {

// Checksum of one sample group's datasets as stored (see dataset_hash).
uint64_t group_checksum(const h5::Group& g, const std::string& file) {
    std::vector<std::string> paths;
    list_datasets(g, "", paths, 0);
    std::sort(paths.begin(), paths.end());
    uint64_t sum = 0;
    for (const auto& path : paths) {
        const h5::DatasetInfo i = g.dataset_info(path);
        if (i.type == "string") {
            std::string joined;
            for (const auto& s : g.read_strings(path))
                joined += s + '\0';
            sum += dataset_hash(path, joined.data(), joined.size());
            continue;
        }
        const hid_t mt = raw_mem_type(i);
        DXL_CHECK(mt >= 0, FormatError, file, ":/", g.path(), "/", path,
                  ": unexpected stored type");
        size_t n = i.elem_size;
        for (auto d : i.dims)
            n *= d;
        std::vector<uint8_t> bytes(n);
        if (n > 0) g.read_raw(path, mt, bytes.data());
        sum += dataset_hash(path, bytes.data(), bytes.size());
    }
    return sum;
}

}  // namespace

uint64_t CaptureReader::compute_checksum(int64_t sample) const {
    return group_checksum(m_file->root().group(sample_path(sample, "")), m_path);
}

IntegrityReport CaptureReader::verify() const {
    IntegrityReport rep;
    rep.committed = num_samples();
    for (const auto& e : m_manifest) {
        try {
            const h5::Group& r = m_file->root();
            const std::string name = sample_group_name(e.index);
            const uint64_t stored =
                r.has_attr("checksum", name) ? parse_hex64(r.attr_string("checksum", name)) : 0;
            const uint64_t now = compute_checksum(e.index);
            if (now != e.checksum || stored != e.checksum) {
                rep.problems.push_back(name +
                                       ": checksum mismatch (data damaged after it was written)");
            } else if (static_cast<int64_t>(datasets(e.index).size()) != e.n_datasets) {
                rep.problems.push_back(name + ": dataset count differs from the manifest");
            } else {
                ++rep.verified;
            }
        } catch (const std::exception& ex) {
            rep.problems.push_back(sample_group_name(e.index) + ": unreadable (" + ex.what() + ")");
        }
    }
    try {
        for (const auto& name : m_file->root().members()) {
            if (name.rfind("sample_", 0) != 0) continue;
            const int64_t idx = std::stoll(name.substr(7));
            if (idx >= num_samples()) rep.uncommitted.push_back(name);
        }
    } catch (const std::exception& ex) {
        rep.problems.push_back(std::string("root group unreadable (") + ex.what() + ")");
    }
    rep.ok = rep.problems.empty();
    return rep;
}

namespace {

// What repair knows of one committed sample: from the manifest and/or the journal.
struct Committed {
    uint64_t checksum = 0;
    int64_t n_datasets = 0;
    uint64_t address = 0;  // 0: not journaled (reach it by name only)
};

}  // namespace

RepairReport repair_capture(const std::string& input, const std::string& output,
                            bool remove_input) {
    RepairReport rep;
    rep.output = output;
    // The committed samples: the manifest's when it reads, completed by the journal's. A kill
    // inside an HDF5 flush can tear the manifest or the root group's links; the journal names
    // every committed sample group by its object address.
    std::map<int64_t, Committed> committed;
    bool manifest_read = false;
    try {
        CaptureReader in(input, CaptureReader::Open::Salvage);
        for (const ManifestEntry& e : in.manifest())
            committed[e.index] = Committed{e.checksum, e.n_datasets, 0};
        rep.notes = in.salvage_notes();
        manifest_read = true;
    } catch (const UnsupportedVersion&) {
        throw;
    } catch (const FormatError& e) {
        if (!fs::exists(journal_path(input))) throw;
        rep.notes.push_back(std::string("the manifest is unreadable (") + e.what() +
                            "); the samples come from the commit journal");
    }
    for (const JournalEntry& j : read_journal(journal_path(input))) {
        Committed& c = committed[j.index];
        if (c.address == 0 && c.checksum != 0 && c.checksum != j.checksum) continue;
        c = Committed{j.checksum, j.n_datasets, j.address};
    }

    h5::filter_available(h5::Filter::Lzf);  // makes the LZF plugin loadable for reading
    h5::File src_file(input, h5::File::Mode::ReadOnly);
    const h5::Group& src = src_file.root();
    DXL_CHECK(src.has_attr("format") && src.attr_string("format") == kCaptureFormat, FormatError,
              input, ": not a dxl capture file (no `format` attribute); nothing to repair");
    int64_t present = 0;  // sample groups the root still lists (for the dropped count)
    try {
        for (const auto& name : src.members())
            present += name.rfind("sample_", 0) == 0 ? 1 : 0;
    } catch (const std::exception&) {
        present = 0;  // a torn root group: only the journal reaches the samples
    }

    const std::string tmp = output + ".repair";
    {
        h5::File out(tmp, h5::File::Mode::Truncate);
        try {
            const h5::Group& dst = out.root();
            src.copy_attrs_to(dst);
            dst.set_attr("status", "recovered");
            // Keep every committed sample whose checksum verifies; later ones move down over a
            // damaged one so indices stay contiguous (the group keeps `original_index`).
            std::vector<ManifestEntry> kept;
            for (auto it = committed.begin(); it != committed.end(); ++it) {
                const int64_t i = it->first;
                const int64_t new_index = static_cast<int64_t>(kept.size());
                const std::string name = sample_group_name(i);
                bool good = false;
                try {
                    const uint64_t address = it->second.address;
                    h5::Group g;
                    try {
                        if (src.is_group(name)) g = src.group(name);
                    } catch (const std::exception&) {
                        g = h5::Group();  // torn links: reach it by address below
                    }
                    if (address != 0 && (g.id() < 0 || g.address() != address))
                        g = src_file.open_group_at(address, name);
                    good = g.id() >= 0 && group_checksum(g, input) == it->second.checksum;
                    if (good) {
                        const std::string new_name = sample_group_name(new_index);
                        g.copy_to(".", dst, new_name);
                        if (new_index != i) dst.group(new_name).set_attr("original_index", i);
                    }
                } catch (const std::exception&) {
                    good = false;
                }
                if (!good) {
                    rep.notes.push_back(name +
                                        " is damaged (checksum mismatch or unreadable): "
                                        "dropped; the later samples are kept");
                    continue;
                }
                if (new_index != i)
                    rep.notes.push_back(name + " is now " + sample_group_name(new_index));
                kept.push_back(
                    ManifestEntry{new_index, it->second.checksum, it->second.n_datasets});
            }
            h5::Group man = dst.create_group(kManifestGroup);
            man.set_attr("NX_class", "NXcollection");
            man.create_extensible("sample_index", H5T_NATIVE_INT64, 256);
            man.create_extensible("checksum", H5T_NATIVE_UINT64, 256);
            man.create_extensible("n_datasets", H5T_NATIVE_INT64, 256);
            for (const ManifestEntry& e : kept) {
                man.append("sample_index", H5T_NATIVE_INT64, &e.index, 1);
                man.append("checksum", H5T_NATIVE_UINT64, &e.checksum, 1);
                man.append("n_datasets", H5T_NATIVE_INT64, &e.n_datasets, 1);
            }
            rep.kept = static_cast<int64_t>(kept.size());
            man.set_attr("count", rep.kept);
            if (dst.has_attr("default")) {
                if (rep.kept == 0)
                    dst.remove_attr("default");
                else
                    dst.set_attr("default", sample_group_name(0));
            }
            rep.dropped = std::max<int64_t>(
                0, std::max<int64_t>(present, static_cast<int64_t>(committed.size())) - rep.kept);
            if (!manifest_read && rep.kept > 0)
                rep.notes.push_back("recovered " + std::to_string(rep.kept) +
                                    " samples through the journal");
            out.close();
        } catch (...) {
            std::error_code ec;
            fs::remove(tmp, ec);
            throw;
        }
    }
    fs::rename(tmp, output);
    if (remove_input && fs::absolute(input) != fs::absolute(output)) {
        std::error_code ec;
        fs::remove(input, ec);
        fs::remove(journal_path(input), ec);
    }
    return rep;
}

}  // namespace dxl::store
