// Capture writer: one storage thread owns the HDF5 file; the compute side hands it plain
// chunks through a bounded queue (docs/architecture.md#threads). Crash-safe protocol:
//   NAME.partial is created (header flushed under NAME.partial.new first, then renamed);
//   each sample is written and flushed, its group's object address and checksum are appended to
//   NAME.partial.journal (one write), then it is recorded in /manifest and flushed again;
//   finish() marks the file complete, renames it to NAME and removes the journal.
// A kill inside an HDF5 flush can tear the root group's links or the manifest (HDF5 writes the
// entries of one flush in no crash-safe order); the journal still reaches every committed sample
// by address.
// After a kill at any moment, NAME.partial holds exactly the manifest's samples once
// repair_capture() (dxl inspect --repair) has copied them into a clean NAME.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "core/store/capture_schema.h"
#include "core/store/h5.h"

namespace dxl::store {

struct WriterOptions {
    std::string path;  // final file name (NAME); the writer uses NAME.partial
    h5::Filter filter =
        h5::Filter::ShuffleLzf;           // falls back to None with a one-line notice if unusable
    bool append = false;                  // add samples to the finished file NAME
    uint64_t queue_bytes = 512ull << 20;  // put() blocks while this much is queued
    std::map<std::string, std::string> attrs;  // root string attributes (configs, producer, ...)
};

struct WriterStats {
    int64_t committed = 0;       // samples committed by this writer (not counting appended-to ones)
    uint64_t fp32_bytes = 0;     // logical bytes as float32 (numeric chunks)
    uint64_t payload_bytes = 0;  // bytes handed over (fp16 or fp32 as chosen)
    double busy_seconds = 0;     // wall time the storage thread spent writing and flushing
    double busy_cpu_seconds =
        0;  // CPU time of the storage thread (user + system) for the same work
};

class CaptureWriter {
  public:
    explicit CaptureWriter(WriterOptions options);
    // Without finish(): stops the thread after what is queued; NAME.partial keeps the committed
    // samples.
    ~CaptureWriter();
    CaptureWriter(const CaptureWriter&) = delete;
    CaptureWriter& operator=(const CaptureWriter&) = delete;

    // Opens the next sample (index = samples already in the file) and returns its index.
    int64_t begin_sample();
    // Queues one array of the open sample; blocks while the queue is full. Rethrows a storage
    // error.
    void put(Chunk chunk);
    // Closes the open sample: it is written, flushed and committed to the manifest (async).
    void commit_sample();
    // Blocks until the storage thread has handled everything queued so far (benchmarks, tests).
    void drain();
    // Waits for every queued item, marks the file complete, closes and renames it to NAME.
    void finish();

    h5::Filter filter() const noexcept { return m_filter; }
    const std::string& partial_path() const noexcept { return m_partial; }
    WriterStats stats() const;  // after finish(), final figures

  private:
    struct Item {
        enum class Kind { Begin, Data, Commit, Stop } kind;
        int64_t sample = -1;
        Chunk chunk;
    };
    void push(Item item);
    void run();  // storage thread
    void handle(Item& item);
    void rethrow_if_failed();
    void write_header();

    WriterOptions m_opts;
    std::string m_partial;
    int m_journal = -1;  // NAME.partial.journal, append-only (storage thread after construction)
    h5::Filter m_filter = h5::Filter::None;
    std::unique_ptr<h5::File> m_file;  // used by the storage thread only (after construction)
    int64_t m_next_sample = 0;         // compute side
    int64_t m_open_sample = -1;        // compute side
    bool m_finished = false;

    // storage-thread state
    uint64_t m_sample_hash = 0;
    int64_t m_sample_datasets = 0;
    std::string m_default_map;  // first image of the first sample (NXdata default chain)

    mutable std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Item> m_queue;
    uint64_t m_queued_bytes = 0;
    bool m_busy = false;  // the storage thread is handling an item
    std::exception_ptr m_error;
    WriterStats m_stats;
    std::thread m_thread;
};

}  // namespace dxl::store
