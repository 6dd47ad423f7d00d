// The command line: serve, migrate, createuser, createsuperuser, changepassword.
#pragma once

namespace castera::cli {

// Parses argv and runs the chosen command; returns the process exit code.
int run(int argc, char** argv);

}  // namespace castera::cli
