// Capture writer: storage thread, bounded queue, crash-safe commit protocol (see header).
#include "core/store/capture_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "core/base/error.h"
#include "core/base/log.h"

namespace dxl::store {
namespace fs = std::filesystem;

namespace {

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

std::string utc_now() {
    std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

hid_t file_type(DType t) {
    switch (t) {
        case DType::F16:
            return h5::float16_type();
        case DType::F32:
            return H5T_NATIVE_FLOAT;
        case DType::I64:
            return H5T_NATIVE_INT64;
        case DType::I32:
            return H5T_NATIVE_INT32;
        case DType::U8:
            return H5T_NATIVE_UINT8;
    }
    return H5T_NATIVE_UINT8;
}

std::string join_ints(const std::vector<int64_t>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i)
        s += (i ? "," : "") + std::to_string(v[i]);
    return s;
}

std::string hex64(uint64_t v) {
    char buf[20];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

CaptureWriter::CaptureWriter(WriterOptions options) : m_opts(std::move(options)) {
    DXL_CHECK(!m_opts.path.empty(), ValueError, "capture writer: expected an output file name");
    m_partial = m_opts.path + ".partial";
    const fs::path dir = fs::absolute(m_opts.path).parent_path();
    DXL_CHECK(fs::is_directory(dir), IoError, m_opts.path, ": folder ", dir.string(),
              " does not exist");
    DXL_CHECK(!fs::exists(m_partial), IoError, m_partial,
              ": exists (an interrupted capture?); run `dxl inspect ", m_partial,
              " --repair` to keep its committed samples, or delete it");

    m_filter = m_opts.filter;
    if (!h5::filter_available(m_filter)) {
        log_warn("capture: compression filter '" + std::string(h5::to_string(m_filter)) +
                 "' is not available here (install hdf5-plugin-lzf); writing uncompressed");
        m_filter = h5::Filter::None;
    }

    if (m_opts.append) {
        DXL_CHECK(fs::exists(m_opts.path), IoError, m_opts.path,
                  ": --append needs a finished capture file at this name, but there is none");
        {
            h5::File probe(m_opts.path, h5::File::Mode::ReadOnly);
            const h5::Group& r = probe.root();
            DXL_CHECK(r.has_attr("format") && r.attr_string("format") == kCaptureFormat,
                      FormatError, m_opts.path,
                      ": is not a dxl capture file (format attribute missing or different); cannot "
                      "append");
            const int64_t version = r.attr_int("schema_version");
            if (version != kCaptureSchemaVersion) {
                throw UnsupportedVersion(
                    m_opts.path + ": cannot append to this capture schema; write a new file",
                    version, kCaptureSchemaVersion);
            }
        }
        // Append to a copy: the finished file stays untouched until the copy with the new
        // samples is complete and replaces it (a full disk or a kill cannot damage it).
        std::error_code ec;
        fs::copy_file(m_opts.path, m_partial, ec);
        if (ec) {
            std::error_code ignored;
            fs::remove(m_partial, ignored);
            throw IoError(m_opts.path + ": cannot copy it to " + m_partial + " to append (" +
                          ec.message() + "); the finished capture is unchanged; free space for " +
                          "a second copy of it (appending needs one) and try again");
        }
        try {
            m_file = std::make_unique<h5::File>(m_partial, h5::File::Mode::ReadWrite,
                                                h5::File::Writes::CrashConsistent);
            m_next_sample = m_file->root().attr_int("count", kManifestGroup);
            m_file->root().set_attr("status", "writing");
            m_file->root().set_attr("appended_utc", utc_now());
            m_file->flush();
        } catch (...) {
            m_file.reset();
            std::error_code ignored;
            fs::remove(m_partial, ignored);
            throw;
        }
    } else {
        // Header first under a scratch name: NAME.partial always has a flushed header.
        const std::string fresh = m_partial + ".new";
        m_file = std::make_unique<h5::File>(fresh, h5::File::Mode::Truncate,
                                            h5::File::Writes::CrashConsistent);
        try {
            write_header();
            m_file->flush();
            m_file->close();
        } catch (...) {
            m_file.reset();
            std::error_code ec;
            fs::remove(fresh, ec);
            throw;
        }
        m_file.reset();
        fs::rename(fresh, m_partial);
        m_file = std::make_unique<h5::File>(m_partial, h5::File::Mode::ReadWrite,
                                            h5::File::Writes::CrashConsistent);
    }
    m_journal = ::open(journal_path(m_partial).c_str(),
                       O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    DXL_CHECK(m_journal >= 0, IoError, journal_path(m_partial), ": cannot create (",
              std::strerror(errno), ")");
    m_thread = std::thread([this] { run(); });
}

void CaptureWriter::write_header() {
    const h5::Group& r = m_file->root();
    r.set_attr("format", kCaptureFormat);
    r.set_attr("schema_version", kCaptureSchemaVersion);
    r.set_attr("creation_time_utc", utc_now());
    r.set_attr("status", "writing");
    r.set_attr("compression",
               std::string("float16/float32 values, chunk filter: ") + h5::to_string(m_filter));
    r.set_attr("compression_filter", h5::to_string(m_filter));
    r.set_attr("checksum_algorithm", kChecksumAlgorithm);
    // Conventions of schema v1 (docs/method.md#notation, #implicit-attention).
    r.set_attr("convention_C_layout", "k v^T (Dh x Dh), code layout of NX-AI/xlstm; h = C^T q");
    r.set_attr("convention_key_scale", "1/sqrt(Dh) applied to k once; stored k is unscaled");
    r.set_attr(
        "convention_stabilizer",
        "stored C, n are the stabilised states C_t exp(-m_t), n_t exp(-m_t); m_t = max over j<=t "
        "of "
        "(F_t - F_j + igate_pre_j) and F_t (zero initial state); multiply by exp(m) to undo");
    r.set_attr("convention_eps", 1e-6);
    r.set_attr("convention_gates", "i = exp(igate_pre), log f = logsigmoid(fgate_pre)");
    r.set_attr(
        "convention_normalization",
        "teacher attn_probs: softmax rows (sum 1); student implicit_attn: raw signed A = S*D / "
        "max(|row sum of S*D|, 1) (docs/method.md#implicit-attention), no row normalisation");
    r.set_attr("NX_class", "NXroot");
    for (const auto& [k, v] : m_opts.attrs)
        r.set_attr(k, v);
    h5::Group man = r.create_group(kManifestGroup);
    man.set_attr("NX_class", "NXcollection");
    man.set_attr("count", int64_t{0});
    man.create_extensible("sample_index", H5T_NATIVE_INT64, 256);
    man.create_extensible("checksum", H5T_NATIVE_UINT64, 256);
    man.create_extensible("n_datasets", H5T_NATIVE_INT64, 256);
}

CaptureWriter::~CaptureWriter() {
    if (m_thread.joinable()) {
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_queue.push_back(Item{Item::Kind::Stop, -1, {}});
        }
        m_cv.notify_all();
        m_thread.join();
    }
    if (m_journal >= 0) ::close(m_journal);  // kept with NAME.partial for the repair
    try {
        if (m_file) m_file->close();
    } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (!m_error)
            log_warn(std::string("capture writer: ") + e.what());  // else reported already
    }
}

void CaptureWriter::rethrow_if_failed() {
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_error) std::rethrow_exception(m_error);
}

void CaptureWriter::push(Item item) {
    DXL_CHECK(!m_finished, InternalError, "capture writer: used after finish()");
    const uint64_t bytes = item.chunk.bytes.size();
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait(lock, [&] {
        return m_error || m_queued_bytes == 0 || m_queued_bytes + bytes <= m_opts.queue_bytes;
    });
    if (m_error) std::rethrow_exception(m_error);
    m_queued_bytes += bytes;
    m_queue.push_back(std::move(item));
    lock.unlock();
    m_cv.notify_all();
}

int64_t CaptureWriter::begin_sample() {
    DXL_CHECK(m_open_sample < 0, InternalError, "capture writer: begin_sample() while sample ",
              m_open_sample, " is open");
    m_open_sample = m_next_sample++;
    push(Item{Item::Kind::Begin, m_open_sample, {}});
    return m_open_sample;
}

void CaptureWriter::put(Chunk chunk) {
    DXL_CHECK(m_open_sample >= 0, InternalError, "capture writer: put() outside a sample");
    if (chunk.strings.empty()) {
        uint64_t n = dtype_size(chunk.dtype);
        for (auto d : chunk.shape)
            n *= d;
        DXL_CHECK(n == chunk.bytes.size(), ShapeError, "capture writer: ", chunk.path,
                  ": expected ", n, " bytes for its shape, but got ", chunk.bytes.size());
    }
    push(Item{Item::Kind::Data, m_open_sample, std::move(chunk)});
}

void CaptureWriter::commit_sample() {
    DXL_CHECK(m_open_sample >= 0, InternalError,
              "capture writer: commit_sample() outside a sample");
    push(Item{Item::Kind::Commit, m_open_sample, {}});
    m_open_sample = -1;
}

void CaptureWriter::finish() {
    DXL_CHECK(m_open_sample < 0, InternalError, "capture writer: finish() while sample ",
              m_open_sample, " is open");
    push(Item{Item::Kind::Stop, -1, {}});
    m_finished = true;
    m_thread.join();
    rethrow_if_failed();
    m_file->root().set_attr("status", "complete");
    m_file->root().set_attr("completion_time_utc", utc_now());
    m_file->close();
    m_file.reset();
    fs::rename(m_partial, m_opts.path);
    ::close(m_journal);
    m_journal = -1;
    std::error_code ec;
    fs::remove(journal_path(m_partial), ec);  // the finished file needs no recovery
}

void CaptureWriter::drain() {
    std::unique_lock<std::mutex> lock(m_mutex);
    m_cv.wait(lock, [&] { return m_error || (m_queue.empty() && !m_busy); });
    if (m_error) std::rethrow_exception(m_error);
}

WriterStats CaptureWriter::stats() const {
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_stats;
}

void CaptureWriter::run() {
    // HDF5 (thread-safe build) keeps its error-printing switch per thread.
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    for (;;) {
        Item item;
        {
            std::unique_lock<std::mutex> lock(m_mutex);
            m_cv.wait(lock, [&] { return !m_queue.empty(); });
            item = std::move(m_queue.front());
            m_queue.pop_front();
            m_queued_bytes -= item.chunk.bytes.size();
            m_busy = true;
        }
        m_cv.notify_all();
        if (item.kind == Item::Kind::Stop) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_busy = false;
            return;
        }
        bool failed;
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            failed = m_error != nullptr;
            if (failed) m_busy = false;
        }
        if (failed) {
            m_cv.notify_all();
            continue;  // drain: producers see the error on their next push
        }
        const auto t0 = std::chrono::steady_clock::now();
        const double c0 = thread_cpu_seconds();
        try {
            handle(item);
        } catch (...) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_error = std::current_exception();
        }
        const double dt =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stats.busy_seconds += dt;
            m_stats.busy_cpu_seconds += thread_cpu_seconds() - c0;
            m_busy = false;
        }
        m_cv.notify_all();
    }
}

void CaptureWriter::handle(Item& item) {
    const h5::Group& root = m_file->root();
    const std::string sname = sample_group_name(item.sample);
    switch (item.kind) {
        case Item::Kind::Begin: {
            DXL_CHECK(!root.exists(sname), FormatError, m_partial, ": ", sname,
                      " exists but is not in the manifest; run `dxl inspect --repair` first");
            h5::Group g = root.create_group(sname);
            g.set_attr("NX_class", "NXentry");
            m_sample_hash = 0;
            m_sample_datasets = 0;
            if (!root.has_attr("default")) root.set_attr("default", sname);
            return;
        }
        case Item::Kind::Data: {
            const Chunk& c = item.chunk;
            h5::Group g = root.group(sname);
            if (!c.strings.empty()) {
                // HDF5 strings end at a NUL byte (token id 0 of a byte tokenizer): store and hash
                // a visible U+2400 instead, so the stored text and the checksum agree.
                std::vector<std::string> strings = c.strings;
                for (auto& s : strings)
                    for (size_t at = s.find('\0'); at != std::string::npos; at = s.find('\0', at))
                        s.replace(at, 1, "\u2400");
                g.write_strings(c.path, strings);
                std::string joined;
                for (const auto& s : strings)
                    joined += s + '\0';
                m_sample_hash += dataset_hash(c.path, joined.data(), joined.size());
            } else {
                h5::DatasetOptions o;
                if (!c.shape.empty()) {
                    const auto cs = chunk_shape(c.shape, dtype_size(c.dtype));
                    o.chunk.assign(cs.begin(), cs.end());
                    if (c.bytes.size() >= 4096) o.filter = m_filter;
                }
                g.write_raw(c.path, file_type(c.dtype), c.bytes.data(),
                            h5::Dims(c.shape.begin(), c.shape.end()), o);
                m_sample_hash += dataset_hash(c.path, c.bytes.data(), c.bytes.size());
            }
            ++m_sample_datasets;
            if (!c.dims.empty()) g.set_attr("dims", c.dims, c.path);
            if (!c.heads.empty()) g.set_attr("heads", join_ints(c.heads), c.path);
            for (const auto& [k, v] : c.attrs)
                g.set_attr(k, v, c.path);
            const auto slash = c.path.rfind('/');
            const std::string parent = slash == std::string::npos ? "" : c.path.substr(0, slash);
            const std::string leaf = slash == std::string::npos ? c.path : c.path.substr(slash + 1);
            if (!parent.empty()) {
                for (const auto& [k, v] : c.group_attrs)
                    g.set_attr(k, v, parent);
            }
            if (c.image && !parent.empty()) {
                g.set_attr("interpretation", "image", c.path);
                g.set_attr("NX_class", "NXdata", parent);
                g.set_attr("signal", leaf, parent);
                g.set_attr("axes", std::vector<std::string>(c.shape.size(), "."), parent);
                if (!g.has_attr("default")) g.set_attr("default", parent);
            }
            std::lock_guard<std::mutex> lock(m_mutex);
            m_stats.fp32_bytes += c.fp32_bytes();
            m_stats.payload_bytes += c.bytes.size();
            return;
        }
        case Item::Kind::Commit: {
            h5::Group g = root.group(sname);
            g.set_attr("checksum", hex64(m_sample_hash));
            g.set_attr("n_datasets", m_sample_datasets);
            m_file->flush();  // the sample's data and metadata are on disk before the manifest
                              // names it
            // One write() per line: a kill leaves whole lines and at most one torn last line.
            char line[128];
            const int n = std::snprintf(
                line, sizeof line, "%s %lld %llu %s %lld\n", kJournalTag,
                static_cast<long long>(item.sample), static_cast<unsigned long long>(g.address()),
                hex64(m_sample_hash).c_str(), static_cast<long long>(m_sample_datasets));
            DXL_CHECK(n > 0 && ::write(m_journal, line, static_cast<size_t>(n)) == n, IoError,
                      journal_path(m_partial), ": write failed (disk full?)");
            h5::Group man = root.group(kManifestGroup);
            const int64_t index = item.sample;
            const uint64_t sum = m_sample_hash;
            man.append("sample_index", H5T_NATIVE_INT64, &index, 1);
            man.append("checksum", H5T_NATIVE_UINT64, &sum, 1);
            man.append("n_datasets", H5T_NATIVE_INT64, &m_sample_datasets, 1);
            man.set_attr("count", index + 1);
            m_file->flush();
            std::lock_guard<std::mutex> lock(m_mutex);
            ++m_stats.committed;
            return;
        }
        case Item::Kind::Stop:
            return;
    }
}

}  // namespace dxl::store
