# core/dist: c10d ProcessGroupGloo + TCPStore data parallel, local launcher.
set(DXL_AREA_SOURCES dist/process_group.cpp dist/launcher.cpp dist/launcher_env.cpp)
# ProcessGroupGloo.hpp needs the Gloo headers (libgloo-dev) and this define.
set_source_files_properties(dist/process_group.cpp PROPERTIES COMPILE_DEFINITIONS USE_C10D_GLOO)
