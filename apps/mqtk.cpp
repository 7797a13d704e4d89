#include <mqtk/tools/front.hpp>

#include <cstdio>

int main(int argc, char** argv)
{
  const int code = mqtk::run_front(argc, argv);
  std::fflush(stdout);
  return code;
}
