// Lazy reader of capture files (schema v1): checks format, version and manifest at open,
// then reads chunk-aligned hyperslab slices on request (never more than asked). Also the
// integrity check and the crash recovery (`dxl inspect --repair`). Torch-free: values come back
// as plain float/int arrays; core/capture/capture_reader_torch.h turns them into tensors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/store/capture_schema.h"
#include "core/store/h5.h"

namespace dxl::store {

struct ManifestEntry {
    int64_t index = 0;
    uint64_t checksum = 0;
    int64_t n_datasets = 0;
};

struct IntegrityReport {
    bool ok = true;
    int64_t committed = 0;                 // samples in the manifest
    int64_t verified = 0;                  // of these, checksums that match
    std::vector<std::string> uncommitted;  // sample groups present but not in the manifest
    std::vector<std::string> problems;     // one line per damage found
};

class CaptureReader {
  public:
    // Throws IoError (missing), FormatError (not HDF5, not a dxl capture, damaged manifest) or
    // UnsupportedVersion (a newer schema), each naming the file and what is wrong.
    explicit CaptureReader(const std::string& path);
    // Salvage (crash recovery only): a manifest cut short by a kill is read up to its last
    // consistent entry instead of rejected; salvage_notes() says what was cut.
    enum class Open { Strict, Salvage };
    CaptureReader(const std::string& path, Open open);
    ~CaptureReader();

    const std::string& path() const noexcept { return m_path; }
    const h5::Group& root() const;
    std::string attr(const std::string& name) const;       // root string attribute ("" if missing)
    std::string status() const { return attr("status"); }  // "writing", "complete", "recovered"

    int64_t num_samples() const noexcept { return static_cast<int64_t>(m_manifest.size()); }
    const std::vector<ManifestEntry>& manifest() const noexcept { return m_manifest; }

    // Dataset paths of a committed sample, relative to its group, sorted.
    std::vector<std::string> datasets(int64_t sample) const;
    bool has(int64_t sample, const std::string& path) const;
    h5::DatasetInfo info(int64_t sample, const std::string& path) const;
    std::string dataset_attr(int64_t sample, const std::string& path,
                             const std::string& attr) const;
    // Head ids stored along dimension 0 of a per-head dataset (the `heads` attribute, or 0..N-1).
    std::vector<int64_t> heads(int64_t sample, const std::string& path) const;

    // Reads [offset, offset + count) converted to float32 (fp16 converted exactly). Empty
    // offset/count = the whole dataset. Only the chunks the slice touches are read.
    std::vector<float> read_float(int64_t sample, const std::string& path,
                                  const h5::Dims& offset = {}, const h5::Dims& count = {}) const;
    std::vector<int64_t> read_int(int64_t sample, const std::string& path) const;
    std::vector<std::string> read_strings(int64_t sample, const std::string& path) const;

    // Recomputes the sample checksum from the stored bytes.
    uint64_t compute_checksum(int64_t sample) const;
    // Every committed sample's checksum, plus uncommitted leftovers. Never throws for damage.
    IntegrityReport verify() const;
    const std::vector<std::string>& salvage_notes() const noexcept { return m_salvage_notes; }

  private:
    std::string sample_path(int64_t sample, const std::string& path) const;
    std::string m_path;
    std::unique_ptr<h5::File> m_file;
    std::vector<ManifestEntry> m_manifest;
    std::vector<std::string> m_salvage_notes;
};

struct RepairReport {
    std::string output;   // the clean file written
    int64_t kept = 0;     // committed samples copied (checksums verified)
    int64_t dropped = 0;  // uncommitted or damaged sample groups left out
    std::vector<std::string> notes;
};

// Recovery after a crash: copies the committed, checksum-verified samples of `input`
// (usually NAME.partial) into a clean file `output` (usually NAME), written under
// output + ".repair" and renamed; `input` is removed when remove_input. Throws FormatError when
// `input` cannot be read at all.
RepairReport repair_capture(const std::string& input, const std::string& output, bool remove_input);

}  // namespace dxl::store
