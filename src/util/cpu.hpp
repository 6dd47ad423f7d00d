// Which CPU a thread runs on, and moving a thread off one: the event loops use it to keep a
// room's fan-out on several cores (realtime/room_hub.cpp says when).
#pragma once

namespace castera {

// The CPU the calling thread runs on now, or -1 when the system cannot tell.
int current_cpu();

// Moves the calling thread to another CPU it may run on, if it runs on `cpu` now. Its
// affinity ends as it began: the thread only starts again elsewhere, and since the kernel
// wakes a thread where it last ran, it stays there until the load moves it. Returns whether
// the thread moved.
bool move_off_cpu(int cpu);

}  // namespace castera
