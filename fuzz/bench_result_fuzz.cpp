// libFuzzer target: an mqtk-bench result file, as `mqtk-bench merge` reads
// it. It is read back or refused with an Error naming the file; a result
// read back survives being written and read again unchanged, and merges
// with itself into a result that is written, summarised and listed as CSV
// without failing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_support.hpp"
#include "mqtk/bench/bench_result.hpp"
#include "mqtk/process/error.hpp"

using mqtk_fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  mqtk::BenchResult r;
  try {
    r = mqtk::result_from_text(text, "fuzz.json");
  } catch (const mqtk::UsageError&) {
    check(false); // a file's content is not a usage error
  } catch (const mqtk::Error& e) {
    check(mqtk_fuzz::starts_with(e.what(), "fuzz.json: "));
    check(e.code() == mqtk::exit_code::failure);
    return 0;
  }
  const nlohmann::json written = mqtk::to_json(r);
  check(mqtk::result_from_json(nlohmann::json::parse(written.dump()), "again.json") == r);
  const mqtk::BenchResult merged = mqtk::merge(std::vector<mqtk::BenchResult>{r, r});
  check(merged.command == "merge");
  (void)mqtk::to_json(merged).dump(2);
  (void)mqtk::summary_text(merged);
  (void)mqtk::csv_text(merged);
  (void)mqtk::delivery_errors(merged);
  return 0;
}
