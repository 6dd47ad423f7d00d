// castera: a meeting backend in one process. See README.md.
#include "cli/commands.hpp"

int main(int argc, char** argv) { return castera::cli::run(argc, argv); }
