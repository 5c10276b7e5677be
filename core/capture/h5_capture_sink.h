// The torch side of the capture store: a CaptureSink that converts the observed tensors to
// plain fp16/fp32 buffers and hands them to the store's writer thread, plus the per-sample
// driver that runs teacher and student on the same tokens and adds tokens, logits and the
// mLSTM C/n/m states at the requested positions (schema v1, docs/capture-schema.md).
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/capture/capture_sink.h"
#include "core/capture/host_copy.h"
#include "core/store/capture_schema.h"

namespace dxl::store {
class CaptureWriter;
}
namespace dxl::models {
class LanguageModel;
struct ForwardOptions;
}  // namespace dxl::models

namespace dxl::capture {

enum class StatePositions { None, Chunk, All, List };

struct H5SinkOptions {
    std::vector<int64_t> teacher_layers;  // empty = every layer
    std::vector<int64_t> student_blocks;  // empty = every block
    std::vector<int64_t> heads;           // empty = every head (applies to every per-head dataset)
    store::DType dtype = store::DType::F16;  // large float arrays; gates and stabilisers stay f32
    bool implicit_attn = false;              // also store the derived A per mLSTM block
    bool hidden = false;                     // hidden states of teacher layers and student blocks
    StatePositions state_positions = StatePositions::Chunk;
    std::vector<int64_t> state_list;  // token indices for StatePositions::List
    int64_t chunk_size = 64;          // boundaries for StatePositions::Chunk
    int64_t logits_top_k = 0;         // 0: full logits; K: top-K values (f32) and indices (int64)
};

// Token positions t (state after consuming token t) for a sequence of length T.
std::vector<int64_t> state_positions_for(const H5SinkOptions& opts, int64_t T);

// "0,3-5" -> {0,3,4,5} (UsageError-free: ValueError naming `what`).
std::vector<int64_t> parse_index_ranges(const std::string& text, const std::string& what);

class H5CaptureSink : public CaptureSink {
  public:
    // writer == nullptr: dry run (records chunk sizes only; see estimate_bytes()).
    H5CaptureSink(store::CaptureWriter* writer, H5SinkOptions opts);

    bool wants(const CaptureKey& key) override;
    bool observe(const CaptureKey& key, const torch::Tensor& value) override;

    // Converts a (…) tensor into a chunk at `path` and queues it (or records it in a dry run).
    void put(const std::string& path, const torch::Tensor& value, store::DType dtype,
             const std::string& dims, bool per_head = false, bool image = false,
             std::map<std::string, std::string> attrs = {},
             std::map<std::string, std::string> group_attrs = {});
    // After the student forward: C, n, m at the state positions of every kept mLSTM block.
    void put_states(int64_t T);
    // Waits for the device-to-host copies of this sample (before the writer commits it).
    void finish_copies();
    // Forget the kept mLSTM statistics (start of a sample).
    void reset_sample();

    // Dry run: the recorded chunks (path -> bytes, dims).
    struct Recorded {
        uint64_t bytes = 0;
        std::string dims;
        std::vector<uint64_t> shape;
    };
    const std::map<std::string, Recorded>& recorded() const noexcept { return m_recorded; }
    const H5SinkOptions& options() const noexcept { return m_opts; }

  private:
    bool selected(const std::vector<int64_t>& list, int64_t index) const;
    store::CaptureWriter* m_writer;
    H5SinkOptions m_opts;
    struct MlstmKeep {
        torch::Tensor k, v;    // (1, Hs, T, Dh) float32
        torch::Tensor ig, fg;  // (1, Hs, T) float32
    };
    std::map<int, MlstmKeep> m_mlstm;  // per student block
    std::map<std::string, Recorded> m_recorded;
    std::unique_ptr<HostCopier> m_copier;  // null in a dry run
};

struct SampleInput {
    std::vector<int64_t> tokens;             // (T)
    std::vector<std::string> token_strings;  // empty when no tokenizer
};

// Runs teacher and student on one sequence and writes one sample (begin .. commit).
void capture_sample(store::CaptureWriter& writer, H5CaptureSink& sink,
                    models::LanguageModel& teacher, models::LanguageModel& student,
                    const SampleInput& input, const models::ForwardOptions& fo);

// Bytes a capture of sequences with these lengths will hand to the writer (before compression),
// from a dry run of both models on a short sequence scaled by each dataset's T/P dimensions.
uint64_t estimate_capture_bytes(models::LanguageModel& teacher, models::LanguageModel& student,
                                const H5SinkOptions& opts, const std::vector<int64_t>& lengths,
                                const models::ForwardOptions& fo);

}  // namespace dxl::capture
