// The plumbline executable: everything lives in plumbline_lib; this only passes argv on.
#include <iostream>

#include "cli/cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  return plumbline::cli::Main(args, std::cout, std::cerr);
}
