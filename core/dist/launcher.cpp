// Local multi-process launcher (fork/exec of the same binary with --rank) and free-port lookup.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/dist/process_group.h"

namespace dxl::dist {

int pick_free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    DXL_CHECK(fd >= 0, IoError, "dist: cannot create a socket to find a free port");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ::close(fd);
    DXL_CHECK(ok, IoError, "dist: cannot bind a loopback socket to find a free port");
    return ntohs(a.sin_port);
}

int launch_local_workers(const std::string& exe, const std::vector<std::string>& args, int nproc,
                         int port) {
    DXL_CHECK(nproc >= 1, UsageError, "--nproc: expected >= 1, but got ", nproc);
    std::vector<pid_t> pids;
    for (int r = 0; r < nproc; ++r) {
        std::vector<std::string> a{exe};
        a.insert(a.end(), args.begin(), args.end());
        for (const std::string& s :
             {std::string("--rank"), std::to_string(r), std::string("--world-size"),
              std::to_string(nproc), std::string("--master"), "127.0.0.1:" + std::to_string(port)})
            a.push_back(s);
        const std::string local_rank = std::to_string(r);
        const pid_t pid = ::fork();
        DXL_CHECK(pid >= 0, IoError, "dist: fork failed (", std::strerror(errno), ")");
        if (pid == 0) {
            std::vector<char*> cargs;
            for (auto& s : a)
                cargs.push_back(s.data());
            cargs.push_back(nullptr);
            ::setenv("LOCAL_RANK", local_rank.c_str(), 1);  // the device a rank picks
            ::execv(exe.c_str(), cargs.data());
            std::fprintf(stderr, "dist: exec %s failed: %s\n", exe.c_str(), std::strerror(errno));
            ::_exit(127);
        }
        pids.push_back(pid);
    }
    int first_bad = 0;
    for (size_t left = pids.size(); left > 0; --left) {
        int status = 0;
        const pid_t done = ::wait(&status);
        if (done < 0) break;
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0 && first_bad == 0) {
            first_bad = code;
            for (pid_t p : pids)
                if (p != done) ::kill(p, SIGTERM);
        }
    }
    return first_bad;
}

}  // namespace dxl::dist
