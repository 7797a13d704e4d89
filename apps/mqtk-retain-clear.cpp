#include <mqtk/process/cli.hpp>
#include <mqtk/tools/front.hpp>
#include <mqtk/tools/retain_clear.hpp>

int main(int argc, char** argv)
{
  mqtk::RetainClearOptions options;
  mqtk::run_tool({.name = "mqtk-retain-clear",
                  .description = mqtk::tool_summary("mqtk-retain-clear"),
                  .declare = [&](CLI::App& app) { mqtk::add_retain_clear_options(app, options); },
                  .run = [&] { return mqtk::run_retain_clear(options); },
                  .quiet = &options.connection.quiet,
                  .rest_option = {},
                  .rest_arguments = nullptr,
                  .connection = &options.connection},
                 argc, argv);
}
