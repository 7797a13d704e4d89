#include <mqtk/bench/mosquitto_client.hpp>
#include <mqtk/process/cli.hpp>
#include <mqtk/tools/front.hpp>
#include <mqtk/tools/bench.hpp>

int main(int argc, char** argv)
{
  mqtk::BenchOptions options;
  mqtk::run_tool({.name = "mqtk-bench",
                  .description = mqtk::tool_summary("mqtk-bench"),
                  .declare = [&](CLI::App& app) { mqtk::add_bench_options(app, options); },
                  .run = [&] { return mqtk::run_bench_tool(options); },
                  .quiet = &options.plan.connection.quiet,
                  .rest_option = {},
                  .rest_arguments = nullptr,
                  .usage_exit_code = {},
                  .more_versions = [] { return mqtk::MosquittoClient::library_version(); },
                  .connection = &options.plan.connection},
                 argc, argv);
}
