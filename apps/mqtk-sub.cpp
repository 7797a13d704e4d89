#include <mqtk/process/cli.hpp>
#include <mqtk/tools/front.hpp>
#include <mqtk/tools/sub.hpp>

int main(int argc, char** argv)
{
  mqtk::SubOptions options;
  mqtk::run_tool({.name = "mqtk-sub",
                  .description = mqtk::tool_summary("mqtk-sub"),
                  .declare = [&](CLI::App& app) { mqtk::add_sub_options(app, options); },
                  .run = [&] { return mqtk::run_sub(options); },
                  .quiet = &options.connection.quiet,
                  .rest_option = "--exec",
                  .rest_arguments = &options.exec,
                  .connection = &options.connection},
                 argc, argv);
}
