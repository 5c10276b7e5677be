set(DXL_KERNEL_REF_SOURCES ref/backend.cpp)
