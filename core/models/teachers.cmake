# Transformer teachers (gpt2, llama, qwen2) and generation; paths relative to core/.
set(DXL_TEACHER_SOURCES
    models/transformer_common.cpp
    models/gpt2.cpp
    models/llama.cpp
    models/generate.cpp)
