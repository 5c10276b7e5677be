# Every cmd_*.cpp registers its own command (DXL_CLI_COMMAND), so new commands need no edit here.
file(GLOB DXL_CLI_COMMAND_SOURCES CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/cmd_*.cpp)
set(DXL_CLI_SOURCES main.cpp commands.cpp args.cpp inputs.cpp model_summary.cpp device_options.cpp stop_signals.cpp align_show.cpp capture_ab.cpp ${DXL_CLI_COMMAND_SOURCES})
