// Local multi-process launcher (fork/exec of the same binary with --rank) and free-port lookup.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/base/error.h"
#include "core/dist/process_group.h"

namespace dxl::dist {

namespace {
// The workers of launch_local_workers, for the signal handler (async-signal-safe: kill() only).
constexpr int kMaxWorkers = 1024;
constexpr int kStoppedBySignal = 10;  // the CLI's exit code after a checkpointed stop
pid_t g_workers[kMaxWorkers];
volatile sig_atomic_t g_worker_count = 0;

void forward_signal(int sig) {
    for (int i = 0; i < g_worker_count; ++i)
        ::kill(g_workers[i], sig);
}
}  // namespace

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
    DXL_CHECK(nproc >= 1 && nproc <= kMaxWorkers, UsageError, "--nproc: expected 1..", kMaxWorkers,
              ", but got ", nproc);
    // Each worker runs in its own process group, so a Ctrl-C reaches it once, forwarded from
    // here (a terminal signal to the whole group plus a forwarded one would be the "second
    // signal" that exits without saving); SIGINT/SIGTERM sent to this process alone (a scheduler,
    // kill PID) reach every worker, which checkpoint and stop.
    struct sigaction fwd {
    }, old_int{}, old_term{};
    fwd.sa_handler = forward_signal;
    sigemptyset(&fwd.sa_mask);
    ::sigaction(SIGINT, &fwd, &old_int);
    ::sigaction(SIGTERM, &fwd, &old_term);
    g_worker_count = 0;
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
            ::setpgid(0, 0);
            ::sigaction(SIGINT, &old_int, nullptr);
            ::sigaction(SIGTERM, &old_term, nullptr);
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
        g_workers[g_worker_count] = pid;
        g_worker_count = g_worker_count + 1;
    }
    int first_bad = 0;
    for (size_t left = pids.size(); left > 0; --left) {
        int status = 0;
        const pid_t done = ::wait(&status);
        if (done < 0 && errno == EINTR) {  // a forwarded signal: keep waiting for the workers
            ++left;
            continue;
        }
        if (done < 0) break;
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (code != 0 && first_bad == 0) {
            first_bad = code;
            // A worker that stopped on a signal (exit 10, docs/cli.md) is not a failure: the
            // others are stopping too and may still be writing the checkpoint; a SIGTERM now
            // would be their second signal.
            if (code != kStoppedBySignal)
                for (pid_t p : pids)
                    if (p != done) ::kill(p, SIGTERM);
        }
    }
    g_worker_count = 0;
    ::sigaction(SIGINT, &old_int, nullptr);
    ::sigaction(SIGTERM, &old_term, nullptr);
    return first_bad;
}

}  // namespace dxl::dist
