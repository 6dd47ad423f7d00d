// castera: a meeting backend in one process. See README.md.
#include "cli/commands.hpp"

#ifdef CASTERA_JEMALLOC
// jemalloc reads its settings from this symbol of the program (MALLOC_CONF still overrides).
// A background thread returns freed memory to the kernel as it ages, so the event loops never
// do it themselves and a server that held many connections shrinks again. Within about a
// second rather than jemalloc's ten: on the machine of bench/RESULTS.md the returning disturbs
// the loops (chats late by 2-16 ms) for as long as it goes on; better over soon after a crowd
// leaves (docs/DESIGN.md, "Memory").
extern "C" {
const char* malloc_conf = "background_thread:true,dirty_decay_ms:1000";
}
#endif

int main(int argc, char** argv) { return castera::cli::run(argc, argv); }
