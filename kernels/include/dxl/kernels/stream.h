// cudaStream_t without the CUDA headers, so kernel headers compile on machines without CUDA.
//
// The CUDA runtime declares `typedef struct CUstream_st* cudaStream_t;` at global scope. Repeating
// the identical typedef is valid C++, so this header and <cuda_runtime.h> can be included together.
#pragma once

struct CUstream_st;
typedef struct CUstream_st* cudaStream_t;
