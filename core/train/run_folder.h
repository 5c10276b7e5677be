// A training run's output folder: an exclusive lock while a run writes into it (a second
// `dxl distill` into the same folder is refused instead of interleaving the log), and the check
// that a fresh run never silently replaces an earlier run's log, checkpoints or final model.
// Torch-free.
#pragma once

#include <string>

namespace dxl::train {

class RunFolderLock {
  public:
    // Creates OUT if needed and takes OUT/.dxl-lock (flock, released when the process ends).
    // IoError naming the holder's pid when another process holds it.
    explicit RunFolderLock(const std::string& out_dir);
    ~RunFolderLock();
    RunFolderLock(const RunFolderLock&) = delete;
    RunFolderLock& operator=(const RunFolderLock&) = delete;

  private:
    int m_fd = -1;
};

// For a run that does not resume: UsageError when OUT already holds a run (run.dxlrec with
// records, checkpoints/ or final/), unless `force`, which removes them first.
void prepare_fresh_run_folder(const std::string& out_dir, bool force);

}  // namespace dxl::train
