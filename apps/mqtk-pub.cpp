#include <mqtk/process/cli.hpp>
#include <mqtk/tools/front.hpp>
#include <mqtk/tools/pub.hpp>

int main(int argc, char** argv)
{
  mqtk::PubOptions options;
  mqtk::run_tool({.name = "mqtk-pub",
                  .description = mqtk::tool_summary("mqtk-pub"),
                  .declare = [&](CLI::App& app) { mqtk::add_pub_options(app, options); },
                  .run = [&] { return mqtk::run_pub(options); },
                  .quiet = &options.connection.quiet,
                  .rest_option = {},
                  .rest_arguments = nullptr,
                  .connection = &options.connection},
                 argc, argv);
}
