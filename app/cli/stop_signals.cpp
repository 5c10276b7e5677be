// SIGINT/SIGTERM handlers: async-signal-safe work only (an atomic store, write(2), _exit).
#include "app/cli/stop_signals.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>

namespace dxl::cli {

namespace {

CancelToken g_token;
std::atomic<int> g_signal{0};
const char* g_what = "";

void write_str(const char* s) {
    const ssize_t rc = ::write(STDERR_FILENO, s, std::strlen(s));
    (void)rc;
}

extern "C" void on_stop_signal(int sig) {
    int expected = 0;
    if (!g_signal.compare_exchange_strong(expected, sig)) {
        write_str("\ndxl: second signal: exiting now without saving\n");
        ::_exit(128 + sig);
    }
    g_token.cancel();
    write_str("\ndxl: stop requested: ");
    write_str(g_what);
    write_str(" (signal again to exit at once)\n");
}

}  // namespace

const CancelToken& install_stop_signals(const char* what) {
    static_assert(std::atomic<int>::is_always_lock_free, "signal handler needs a lock-free flag");
    g_what = what;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    ::sigaction(SIGINT, &sa, nullptr);
    ::sigaction(SIGTERM, &sa, nullptr);
    return g_token;
}

int stop_signal() {
    return g_signal.load();
}

}  // namespace dxl::cli
