# core/train: losses, schedules, student set-up, optimiser/checkpoints, run log, trainer.
set(DXL_AREA_SOURCES train/schedule.cpp train/run_log.cpp train/train_config.cpp train/losses.cpp train/vocab_losses.cpp
                     train/activation_checkpoint.cpp
                     train/student.cpp train/train_state.cpp train/trainer.cpp train/stop_request.cpp train/run_folder.cpp
                     train/evaluate.cpp)
set(DXL_AREA_LIBS dxl_data dxl_dist dxl_students dxl_teachers dxl_analysis)
