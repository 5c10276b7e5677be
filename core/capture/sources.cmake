# dxl_capture: the torch side of the capture store (HDF5 sink, capture driver, tensor reader).
set(DXL_AREA_SOURCES capture/h5_capture_sink.cpp capture/host_copy.cpp capture/capture_reader_torch.cpp)
set(DXL_AREA_LIBS dxl_teachers dxl_students)
