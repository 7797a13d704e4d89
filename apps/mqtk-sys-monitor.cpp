#include <mqtk/process/cli.hpp>
#include <mqtk/tools/front.hpp>
#include <mqtk/tools/sys_monitor.hpp>

int main(int argc, char** argv)
{
  mqtk::SysMonitorOptions options;
  mqtk::run_tool({.name = "mqtk-sys-monitor",
                  .description = mqtk::tool_summary("mqtk-sys-monitor"),
                  .declare = [&](CLI::App& app) { mqtk::add_sys_monitor_options(app, options); },
                  .run = [&] { return mqtk::run_sys_monitor(options); },
                  .quiet = &options.connection.quiet,
                  .rest_option = {},
                  .rest_arguments = nullptr,
                  .usage_exit_code = mqtk::sys_monitor_usage_exit_code,
                  .connection = &options.connection},
                 argc, argv);
}
