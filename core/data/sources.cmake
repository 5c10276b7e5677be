# core/data: corpora, synthetic tasks, packed/shuffled datasets (torch-free).
set(DXL_AREA_SOURCES data/corpus.cpp data/synthetic.cpp data/dataset.cpp)
