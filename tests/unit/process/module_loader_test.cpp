#include "mqtk/process/module_loader.hpp"

#include <string>

#include <doctest/doctest.h>

TEST_CASE("modules: beside the executable first, then the installation's module directory")
{
  const std::vector<std::string> paths = mqtk::module_paths("/usr/bin/", "mqtk-paho-tls.so");
  REQUIRE(paths.size() == 2);
  CHECK(paths[0] == "/usr/bin/mqtk-paho-tls.so");
  // bin/../lib[/<triplet>]/mqtk, normalised.
  CHECK(paths[1].starts_with("/usr/lib/"));
  CHECK(paths[1].ends_with("/mqtk/mqtk-paho-tls.so"));
  CHECK(paths[1].find("..") == std::string::npos);
  CHECK(mqtk::module_paths("/opt/mqtk/bin/", "m.so")[1].starts_with("/opt/mqtk/lib/"));
}

TEST_CASE("modules: a missing module is named with every place looked at")
{
  std::string error;
  CHECK(mqtk::load_module_symbol("mqtk-no-such-module.so", "x", error) == nullptr);
  const std::vector<std::string> paths = mqtk::module_paths(mqtk::executable_directory(), "mqtk-no-such-module.so");
  CHECK(error == paths[0] + ": no such file (nor " + paths[1] + ")");
}
