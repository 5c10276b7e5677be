set(DXL_IO_SOURCES io/json_config.cpp)
