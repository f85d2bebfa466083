// The `ngvi` command line: `ngvi fit`, `ngvi demo`, `ngvi bench`. Every error, from the parser, the
// readers or the library, ends the run with one line on stderr and a non-zero exit code.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <new>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "ngvi/ngvi.hpp"

namespace {

int error_line(std::string message) {
  for (char& c : message)
    if (c == '\n' || c == '\r') c = ' ';  // one line, whatever the source of the message
  std::fprintf(stderr, "ngvi: error: %s\n", message.c_str());
  return ngvi::cli::kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ngvi::cli;
  set_command_line(argc, argv);
  CLI::App app{"ngvi: natural-gradient variational inference on batches of Gaussians"};
  const std::vector<Subcommand> commands = add_commands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (argc < 2) {  // no subcommand at all: show what there is
      std::fputs(app.help().c_str(), stderr);
      return kExitError;
    }
    bool known = false;
    for (const Subcommand& command : commands) known = known || command.app->get_name() == argv[1];
    if (argv[1][0] != '-' && !known)
      return error_line(std::string("'") + argv[1] + "' is not a command (the commands are fit, demo and bench)");
    return error_line(e.what());
  }
  try {
    for (const Subcommand& command : commands)
      if (command.app->parsed()) return command.run();
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "ngvi: %s\n", e.what());
    return kExitInterrupted + e.signal;
  } catch (const CLI::Error& e) {
    return error_line(e.what());
  } catch (const std::bad_alloc&) {
    return error_line("out of memory");
  } catch (const std::exception& e) {
    return error_line(e.what());
  }
  return kExitOk;
}
