set(DXL_CLI_SOURCES main.cpp commands.cpp args.cpp inputs.cpp model_summary.cpp cmd_info_forward.cpp
    cmd_generate.cpp)
