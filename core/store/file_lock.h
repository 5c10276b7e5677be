// An exclusive, non-blocking lock on a capture file while one command changes it (capture
// --append, align writing /align), so two writers never interleave or undo each other. Uses
// open-file-description locks: they neither clash with the flock HDF5 takes on its own handle nor
// vanish when HDF5 closes that handle.
#pragma once

#include <string>

namespace dxl::store {

class FileLock {
  public:
    // IoError naming `what` when another process holds the lock (or the file cannot be opened).
    FileLock(const std::string& path, const std::string& what);
    ~FileLock();
    FileLock(const FileLock&) = delete;
    FileLock& operator=(const FileLock&) = delete;

  private:
    int m_fd = -1;
};

}  // namespace dxl::store
