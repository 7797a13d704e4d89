#include "mqtk/terminal/screen.hpp"

#include "mqtk/process/error.hpp"
#include "mqtk/process/module_loader.hpp"

#include <atomic>
#include <mutex>

namespace mqtk {

namespace {

std::mutex load_mutex;
ScreenModule module{};
// Set once module is filled in; read by the restore functions from any
// thread.
std::atomic<bool> loaded{false};

} // namespace

int series_color(std::size_t i) noexcept
{
  static constexpr int palette[] = {Screen::accent, Screen::warning, Screen::magenta,
                                    Screen::good,   Screen::blue,    Screen::white};
  return palette[i % (sizeof palette / sizeof palette[0])];
}

namespace {

void load()
{
  std::lock_guard lock(load_mutex);
  if (!loaded.load(std::memory_order_acquire)) {
    std::string why;
    void* entry = load_module_symbol(screen_module_name, "mqtk_screen_module", why);
    if (entry == nullptr) {
      throw Error(exit_code::failure, "cannot load the terminal module: " + why);
    }
    reinterpret_cast<decltype(&mqtk_screen_module)>(entry)(&module);
    loaded.store(true, std::memory_order_release);
  }
}

} // namespace

std::string screen_problem()
{
  try {
    load();
  } catch (const Error& e) {
    return e.what();
  }
  char error[256] = {};
  return module.check(error, sizeof error) ? std::string() : std::string(error);
}

std::unique_ptr<Screen> open_screen()
{
  load();
  char error[256] = {};
  Screen* screen = module.open(error, sizeof error);
  if (screen == nullptr) {
    throw Error(exit_code::failure, error);
  }
  return std::unique_ptr<Screen>(screen);
}

void restore_screen() noexcept
{
  if (loaded.load(std::memory_order_acquire)) {
    module.restore();
  }
}

void restore_screen_from_other_thread() noexcept
{
  if (loaded.load(std::memory_order_acquire)) {
    module.restore_from_other_thread();
  }
}

} // namespace mqtk
