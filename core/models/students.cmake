# xLSTM students: mLSTM/sLSTM cells, xlstm_v1 (NX-AI xLSTMLMModel) and xlstm_large, configs.
set(DXL_STUDENT_SOURCES
    models/mlstm_cell.cpp
    models/slstm_cell.cpp
    models/xlstm_config.cpp
    models/xlstm_v1.cpp
    models/xlstm_large.cpp
)
