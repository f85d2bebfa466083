#include "cli/common.hpp"
namespace ngvi::cli {
Subcommand add_bench_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("bench", "bench");
  return {app, [] { return 0; }};
}
}  // namespace ngvi::cli
