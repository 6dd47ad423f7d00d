#include "proc.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <thread>

namespace wsload {
namespace {

long rss_of(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
        if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
    return 0;
}

long fds_of(pid_t pid) {
    DIR* dir = ::opendir(("/proc/" + std::to_string(pid) + "/fd").c_str());
    if (!dir) return 0;
    long count = 0;
    while (const dirent* entry = ::readdir(dir))
        if (entry->d_name[0] != '.') ++count;
    ::closedir(dir);
    return count;
}

// User plus system time in clock ticks (fields 14 and 15 of /proc/<pid>/stat).
long cpu_ticks_of(pid_t pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto after_name = text.rfind(')');  // the command name may hold spaces
    if (after_name == std::string::npos) return 0;
    std::istringstream fields(text.substr(after_name + 2));
    std::string skip;
    for (int i = 3; i < 14; ++i) fields >> skip;
    long user = 0, system = 0;
    fields >> user >> system;
    return user + system;
}

template <typename F>
long sum_over(const std::vector<pid_t>& pids, F f) {
    long total = 0;
    for (pid_t pid : pids) total += f(pid);
    return total;
}

}  // namespace

long rss_kib(const std::vector<pid_t>& pids) { return sum_over(pids, rss_of); }

long open_fds(const std::vector<pid_t>& pids) { return sum_over(pids, fds_of); }

double cpu_seconds(const std::vector<pid_t>& pids) {
    return static_cast<double>(sum_over(pids, cpu_ticks_of)) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

double own_cpu_seconds() {
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

void wait_until_quiet(const std::vector<pid_t>& pids, std::chrono::seconds limit) {
    const long ticks_per_second = ::sysconf(_SC_CLK_TCK);
    const auto window = std::chrono::milliseconds(500);
    auto deadline = std::chrono::steady_clock::now() + limit;
    long before = sum_over(pids, cpu_ticks_of);
    while (std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(window);
        long now = sum_over(pids, cpu_ticks_of);
        if ((now - before) * 1000 / ticks_per_second <= window.count() / 50) return;
        before = now;
    }
}

std::size_t raise_fd_limit() {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);  // what was granted, should the hard limit be unlimited
    constexpr rlim_t margin = 256;  // epoll, pipes, stdio, the odd file
    return limit.rlim_cur > margin ? static_cast<std::size_t>(limit.rlim_cur - margin) : 0;
}

}  // namespace wsload
