#include <doctest/doctest.h>

#include "mqtk/output/atomic_file.hpp"
#include "mqtk/process/error.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

TEST_CASE("atomic file: replaces the whole file, leaves no temporary file")
{
  char pattern[] = "/tmp/mqtk-atomic-XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  const fs::path dir = pattern;
  const std::string path = (dir / "chart.svg").string();
  CHECK(mqtk::replace_file_problem(path).empty());
  mqtk::replace_file(path, "first", "--plot-svg");
  mqtk::replace_file(path, "second", "--plot-svg");
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == "second");
  CHECK(std::distance(fs::directory_iterator(dir), fs::directory_iterator()) == 1);

  CHECK(mqtk::replace_file_problem((dir / "missing" / "x.svg").string()).find("cannot use the directory") == 0);
  CHECK(mqtk::replace_file_problem(dir.string()) == "'" + dir.string() + "' is a directory");
  CHECK(mqtk::replace_file_problem(path + "/x").find("is not a directory") != std::string::npos);
  CHECK_THROWS_WITH_AS(mqtk::replace_file((dir / "missing" / "x.svg").string(), "x", "--plot-svg"),
                       doctest::Contains("--plot-svg: cannot create"), mqtk::Error);
  fs::remove_all(dir);
}
