#include "cli/common.hpp"
namespace ngvi::cli {
Subcommand add_demo_command(CLI::App& parent) {
  CLI::App* app = parent.add_subcommand("demo", "demo");
  return {app, [] { return 0; }};
}
}  // namespace ngvi::cli
