// What the tool reads about processes from /proc, and the descriptor limit it runs under.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <vector>

namespace wsload {

// Resident memory (VmRSS) of the processes together, in KiB; 0 for a process that is gone.
long rss_kib(const std::vector<pid_t>& pids);
// Open descriptors of the processes together (the server's sockets show up here).
long open_fds(const std::vector<pid_t>& pids);
// CPU time (user and system) the processes have used so far, together, in seconds.
double cpu_seconds(const std::vector<pid_t>& pids);
// CPU time this process (all its threads) has used so far, in seconds.
double own_cpu_seconds();
// Waits until the processes together use less than 2% of a core, or `limit` has passed:
// what the server still does after the last handshake (presence, welcomes) must not leak into
// the next measurement.
void wait_until_quiet(const std::vector<pid_t>& pids, std::chrono::seconds limit);
// Raises the soft descriptor limit to the hard one and returns how many sockets this process
// can then open, keeping a margin for everything else.
std::size_t raise_fd_limit();

}  // namespace wsload
