// castera: a meeting backend in one process. See README.md.
#include "cli/commands.hpp"

#ifdef CASTERA_JEMALLOC
// jemalloc reads its settings from this symbol of the program (MALLOC_CONF still overrides).
// A background thread returns freed memory to the kernel as it ages (10 s by default), so the
// event loops never do it themselves and a server that held many connections shrinks again.
extern "C" {
const char* malloc_conf = "background_thread:true";
}
#endif

int main(int argc, char** argv) { return castera::cli::run(argc, argv); }
