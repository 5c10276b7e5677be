# Tokenizer sources of dxl_io (paths relative to core/). None of them includes torch.
set(DXL_TOKENIZER_SOURCES
    io/sha256.cpp
    io/tokenizer_bpe.cpp
    io/tokenizer_bpe_load.cpp
    io/tokenizer_byte.cpp
    io/tokenizer_nfc.cpp)
