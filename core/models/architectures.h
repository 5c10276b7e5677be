// Factories of the built-in architectures; registry.cpp maps model_type to them. Listed here
// (not self-registered) so static linking can never drop one.
#pragma once

#include <memory>

#include "core/models/language_model.h"

namespace dxl::io {
class Checkpoint;
}

namespace dxl::models {

// gpt2 (HF GPT2LMHeadModel names).
std::unique_ptr<LanguageModel> make_gpt2(const io::JsonConfig& cfg, const io::Checkpoint* weights);
// llama and qwen2 (HF LlamaForCausalLM / Qwen2ForCausalLM names).
std::unique_ptr<LanguageModel> make_llama(const io::JsonConfig& cfg, const io::Checkpoint* weights);
// xlstm_v1: NX-AI/xlstm xLSTMLMModel state_dict names.
std::unique_ptr<LanguageModel> make_xlstm_v1(const io::JsonConfig& cfg,
                                             const io::Checkpoint* weights);
// xlstm_large: xLSTM-7B style blocks (docs/method.md#blocks-and-students).
std::unique_ptr<LanguageModel> make_xlstm_large(const io::JsonConfig& cfg,
                                                const io::Checkpoint* weights);

}  // namespace dxl::models
