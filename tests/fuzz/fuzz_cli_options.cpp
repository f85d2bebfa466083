// libFuzzer target: the command line's option parsing (CLI11 and ngvi's validators of numbers, integer
// ranges, seeds and names) on arbitrary argument lists; nothing is run. The input is split at NUL bytes
// into at most 64 arguments. Any list must parse or end in a CLI::Error (help and version included).
#include <CLI/CLI.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "cli/commands.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args{"ngvi"};
  std::string current;
  for (std::size_t i = 0; i < size && args.size() < 64; ++i) {
    if (data[i] == 0) {
      args.push_back(current);
      current.clear();
    } else {
      current.push_back(static_cast<char>(data[i]));
    }
  }
  if (args.size() < 64) args.push_back(current);
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  CLI::App app{"ngvi"};
  const std::vector<ngvi::cli::Subcommand> commands = ngvi::cli::add_commands(app);
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
  } catch (const CLI::Error&) {
  }
  return 0;
}
