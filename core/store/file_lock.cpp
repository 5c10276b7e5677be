// Open-file-description write lock over a whole file (see header).
#include "core/store/file_lock.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/base/error.h"

namespace dxl::store {

FileLock::FileLock(const std::string& path, const std::string& what) {
    m_fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    DXL_CHECK(m_fd >= 0, IoError, path, ": cannot open to lock it for ", what, " (",
              std::strerror(errno), ")");
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;  // l_start = l_len = 0: the whole file
    if (::fcntl(m_fd, F_OFD_SETLK, &fl) != 0) {
        const int err = errno;
        ::close(m_fd);
        m_fd = -1;
        DXL_CHECK(err != EAGAIN && err != EACCES, IoError, path,
                  " is in use by another dxl process (a capture --append or an align); wait for "
                  "it to finish, then run ",
                  what, " again");
        throw IoError(path + ": cannot lock it for " + what + " (" + std::strerror(err) + ")");
    }
}

FileLock::~FileLock() {
    if (m_fd >= 0) ::close(m_fd);
}

}  // namespace dxl::store
