// Run folder lock and the no-silent-overwrite check (see header).
#include "core/train/run_folder.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/base/error.h"
#include "core/base/log.h"

namespace fs = std::filesystem;

namespace dxl::train {

RunFolderLock::RunFolderLock(const std::string& out_dir) {
    fs::create_directories(out_dir);
    const std::string path = out_dir + "/.dxl-lock";
    m_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    DXL_CHECK(m_fd >= 0, IoError, "run folder ", out_dir, ": cannot create the lock file ", path,
              " (", std::strerror(errno), "); check that the folder is writable");
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        std::ifstream in(path);
        std::string pid;
        std::getline(in, pid);
        ::close(m_fd);
        m_fd = -1;
        throw IoError("run folder " + out_dir + " is in use by another dxl process" +
                      (pid.empty() ? "" : " (pid " + pid + ")") +
                      "; wait for it to finish or choose another out_dir (--out)");
    }
    const std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(m_fd, 0) == 0) {
        const ssize_t rc = ::pwrite(m_fd, me.data(), me.size(), 0);
        (void)rc;  // the pid is only a hint for the message above
    }
}

RunFolderLock::~RunFolderLock() {
    if (m_fd >= 0) ::close(m_fd);
}

void prepare_fresh_run_folder(const std::string& out_dir, bool force) {
    const fs::path root(out_dir);
    std::error_code ec;
    std::vector<fs::path> found;
    if (fs::file_size(root / "run.dxlrec", ec) > 0 && !ec) found.push_back(root / "run.dxlrec");
    for (const char* d : {"checkpoints", "final"})
        if (fs::exists(root / d, ec)) found.push_back(root / d);
    if (found.empty()) return;
    std::string list;
    for (const auto& p : found)
        list += (list.empty() ? "" : ", ") + p.string();
    DXL_CHECK(force, UsageError, "run folder ", out_dir, " already holds a run (", list,
              "); pass --resume auto to continue it, --force to replace it, or choose another "
              "out_dir (--out)");
    for (const auto& p : found)
        fs::remove_all(p);
    log_warn("--force: removed the previous run's " + list);
}

}  // namespace dxl::train
