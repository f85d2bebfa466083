// The subcommands of `ngvi`, one source file each (fit_command.cpp, demo_command.cpp, bench_command.cpp).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace ngvi::cli {

/// A subcommand: its CLI11 parser and what runs when it was given (returns the exit code).
struct Subcommand {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Subcommand add_fit_command(CLI::App& parent);
Subcommand add_demo_command(CLI::App& parent);
Subcommand add_bench_command(CLI::App& parent);

/// Sets up `app` as the `ngvi` parser (version flag, footer) with every subcommand; main() runs the
/// one given, the option-parsing fuzz target only parses.
std::vector<Subcommand> add_commands(CLI::App& app);

}  // namespace ngvi::cli
