# Benchmark programs, one add_executable per program (included by bench/CMakeLists.txt).
# Kernel benchmarks (fused mLSTM step vs LibTorch ops; CUDA kernels when built with CUDA).
add_executable(kernels_bench kernels_bench.cpp)
target_link_libraries(kernels_bench PRIVATE dxl_kernels torch benchmark::benchmark_main)
dxl_set_warnings(kernels_bench)
