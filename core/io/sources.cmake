set(DXL_IO_SOURCES io/json_config.cpp io/safetensors.cpp io/checkpoint.cpp)
