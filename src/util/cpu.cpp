#include "util/cpu.hpp"

#include <sched.h>

namespace castera {

int current_cpu() { return ::sched_getcpu(); }

bool move_off_cpu(int cpu) {
    if (cpu < 0 || cpu >= CPU_SETSIZE || ::sched_getcpu() != cpu) return false;
    cpu_set_t allowed;
    if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0 || !CPU_ISSET(cpu, &allowed) ||
        CPU_COUNT(&allowed) < 2)
        return false;
    // A mask without the CPU the thread is on makes the kernel move it at once; the mask as it
    // was lets it come back later.
    cpu_set_t elsewhere = allowed;
    CPU_CLR(cpu, &elsewhere);
    bool moved = ::sched_setaffinity(0, sizeof elsewhere, &elsewhere) == 0;
    ::sched_setaffinity(0, sizeof allowed, &allowed);
    return moved;
}

}  // namespace castera
