# DXL_* options, compiler warnings and ccache. Every option is reported by feature_summary.
include(CMakeDependentOption)

set(_dxl_top OFF)
if(CMAKE_SOURCE_DIR STREQUAL PROJECT_SOURCE_DIR)
  set(_dxl_top ON)
endif()

option(DXL_BUILD_TESTS "Build the GoogleTest suites (on when top-level)" ${_dxl_top})
option(DXL_BUILD_BENCH "Build the Google Benchmark programs in bench/" ${_dxl_top})
option(DXL_BUILD_STUDIO "Build the Qt 6 studio (widgets/, app/studio/) when present" ON)
option(DXL_BUILD_FUZZ "Build libFuzzer targets (needs clang)" OFF)
option(DXL_WERROR "Treat compiler warnings as errors" OFF)
option(DXL_USE_CCACHE "Use ccache when it is installed" ON)
add_feature_info(DXL_BUILD_TESTS DXL_BUILD_TESTS "unit, golden and CLI tests")
add_feature_info(DXL_BUILD_BENCH DXL_BUILD_BENCH "benchmarks")
add_feature_info(DXL_BUILD_STUDIO DXL_BUILD_STUDIO "Qt desktop application")
add_feature_info(DXL_BUILD_FUZZ DXL_BUILD_FUZZ "libFuzzer targets")
add_feature_info(DXL_WERROR DXL_WERROR "warnings are errors")

if(DXL_USE_CCACHE)
  find_program(DXL_CCACHE ccache)
  if(DXL_CCACHE)
    set(CMAKE_C_COMPILER_LAUNCHER ${DXL_CCACHE})
    set(CMAKE_CXX_COMPILER_LAUNCHER ${DXL_CCACHE})
    set(CMAKE_CUDA_COMPILER_LAUNCHER ${DXL_CCACHE})
    message(STATUS "dxl: using ccache ${DXL_CCACHE} (set CCACHE_BASEDIR to the checkout for cross-clone hits)")
  endif()
endif()

# dxl_set_warnings(<target>): the warning set for our own code (third-party headers are SYSTEM).
function(dxl_set_warnings target)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align
      -Wunused -Woverloaded-virtual -Wnull-dereference -Wformat=2>)
  if(DXL_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:CXX>:-Werror>)
  endif()
endfunction()
