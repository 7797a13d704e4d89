"""scripts/bench-vs-mosquitto runs end to end (--quick --json): it exits 0,
prints one valid JSON object with every row, and no message was lost in any
run. Speed is not asserted: CI machines are too noisy for that. With
--stock-paho (pointed at the same build: a stock-Paho build is too slow to
make here) the rows that run mqtk also get the stock figures and ratios; a
stock directory without the binaries is a setup error."""

import json
import os
import subprocess
import sys
import tempfile
import unittest

from mqtk_testing import BIN_DIR

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "bench-vs-mosquitto")

EXPECTED_ROWS = {
    "pub_q0_median", "pub_q0_p95", "pub_q1_median", "pub_q1_p95", "sub_E_median",
    "publ_q0", "publ_q1",
    "sink_q0_raw", "sink_q0_json", "sink_q1_raw", "sink_q1_json",
    "rss_q0_raw", "rss_q0_json",
    "sink_where_json", "publ_fields_where",
}
# Rows that compare mqtk with itself (filter options against none).
FILTER_ROWS = {"sink_where_json", "publ_fields_where"}


class BenchScriptTest(unittest.TestCase):
    def run_json(self, *args):
        """Runs the script with --quick --json and `args`; returns its
        process, stderr text and the one JSON object it printed."""
        r = subprocess.run([sys.executable, SCRIPT, "--quick", "--json", "--mqtk-bin", BIN_DIR, *args],
                           capture_output=True, timeout=300)
        err = r.stderr.decode(errors="replace")
        try:
            result = json.loads(r.stdout)
        except ValueError as e:
            self.fail(f"stdout is not one JSON object ({e}):\n{r.stdout[:2000]!r}\nstderr:\n{err}")
        return r, err, result

    def test_quick_json_run(self):
        r, err, result = self.run_json()
        self.assertIsInstance(result, dict)
        failures = "\n".join(result.get("failures", []))
        self.assertEqual(r.returncode, 0, f"failures:\n{failures}\nstderr:\n{err}")

        rows = {row["id"]: row for row in result["rows"]}
        self.assertEqual(set(rows), EXPECTED_ROWS)
        self.assertEqual(len(result["rows"]), len(EXPECTED_ROWS), "a row appears twice")
        self.assertEqual(result["lost_messages"], 0, failures)
        self.assertEqual(result["failed_runs"], 0, failures)
        self.assertEqual(result["failures"], [])
        for rid, row in rows.items():
            with self.subTest(row=rid):
                self.assertEqual(row["lost"], 0)
                self.assertEqual(row["failed_runs"], 0)
                # Every row has figures for both clients, a ratio and a verdict.
                for key in ("mqtk", "mosquitto", "value"):
                    self.assertIsInstance(row[key], (int, float), key)
                    self.assertGreater(row[key], 0, key)
                self.assertIn(row["pass"], (True, False))
                self.assertRegex(row["target"], r"^(<=|>=) \d+(\.\d+)?$")
        for rid in FILTER_ROWS:
            with self.subTest(row=rid):
                self.assertEqual(rows[rid]["target"], ">= 0.8")
                self.assertNotEqual(rows[rid]["baseline"], "mosquitto")
        # The QoS 0 sink's ceiling (a subscriber doing no work per message)
        # ran as often as the clients and received every byte.
        for rid in ("sink_q0_raw", "sink_q0_json"):
            with self.subTest(ceiling=rid):
                ceiling = rows[rid]["details"]["null_subscriber"]
                self.assertEqual(ceiling["runs"], result["config"]["stream_runs"])
                self.assertGreater(ceiling["median_rate"], 0)
        self.assertEqual(result["config"]["quick"], True)
        self.assertIsInstance(result["all_pass"], bool)

    def test_rows_filter(self):
        r = subprocess.run([sys.executable, SCRIPT, "--quick", "--json", "--quiet", "--mqtk-bin", BIN_DIR,
                            "--rows", ",".join(sorted(FILTER_ROWS))],
                           capture_output=True, timeout=300)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 0, err)
        result = json.loads(r.stdout)
        self.assertEqual([row["id"] for row in result["rows"]], ["sink_where_json", "publ_fields_where"])
        self.assertEqual(result["lost_messages"], 0)

        r = subprocess.run([sys.executable, SCRIPT, "--mqtk-bin", BIN_DIR, "--rows", "no_such_row"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 1, "usage errors exit 1, as the script documents")
        self.assertIn(b"no_such_row", r.stderr)

        r = subprocess.run([sys.executable, SCRIPT, "--no-such-flag"], capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"--no-such-flag", r.stderr)

    def test_stock_paho_rows(self):
        # A stock-Paho build is too slow to make here: the default build
        # stands in for it, which still runs every stock variant and checks
        # how the figures and ratios are reported.
        rows_wanted = ["sub_E_median", "publ_q0", "rss_q0_raw"]
        r, err, result = self.run_json("--quiet", "--stock-paho", BIN_DIR, "--rows", ",".join(rows_wanted))
        failures = "\n".join(result.get("failures", []))
        self.assertEqual(r.returncode, 0, f"failures:\n{failures}\nstderr:\n{err}")
        self.assertEqual([row["id"] for row in result["rows"]], rows_wanted)
        self.assertEqual(result["lost_messages"], 0, failures)
        self.assertEqual(result["failed_runs"], 0, failures)
        self.assertEqual(result["config"]["stock_paho"], os.path.abspath(BIN_DIR))
        if (result["config"]["stock_paho_option"] or {}).get("stock_paho") == "OFF":
            # BIN_DIR is a default build: the script says so.
            self.assertIn("MQTK_STOCK_PAHO=OFF", err)
        runs = {"sub_E_median": result["config"]["oneshot_runs"],
                "publ_q0": result["config"]["stream_runs"]}
        for row in result["rows"]:
            with self.subTest(row=row["id"]):
                self.assertEqual(row["failed_runs"], 0)
                self.assertIn(row["pass"], (True, False))
                stock = row["stock"]
                self.assertIsInstance(stock["figure"], (int, float))
                self.assertGreater(stock["figure"], 0)
                self.assertEqual(stock["failed_runs"], 0)
                # > 1 means the default build is better: a lower time or RSS,
                # a higher rate.
                if row["unit"] == "msg/s":
                    self.assertEqual(stock["ratio_of"], "default / stock")
                    self.assertAlmostEqual(stock["ratio"], row["mqtk"] / stock["figure"])
                else:
                    self.assertIn(row["unit"], ("ms", "KiB"))
                    self.assertEqual(stock["ratio_of"], "stock / default")
                    self.assertAlmostEqual(stock["ratio"], stock["figure"] / row["mqtk"])
                if row["id"] in runs:
                    self.assertEqual(stock["details"]["runs"], runs[row["id"]])
                # The mqtk-vs-mosquitto verdict is still mqtk's against mosquitto.
                self.assertAlmostEqual(row["value"], row["mqtk"] / row["mosquitto"])

        # The table gets the two stock columns.
        r = subprocess.run([sys.executable, SCRIPT, "--quick", "--quiet", "--mqtk-bin", BIN_DIR,
                            "--stock-paho", BIN_DIR, "--rows", "publ_q0"],
                           capture_output=True, timeout=300)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        lines = out.splitlines()
        self.assertRegex(lines[0], r"\bstock +vs stock$")
        self.assertRegex(lines[2], r"^publ_q0 .* [\d,]+/s +\d+\.\d{3}x$")

    def test_stock_paho_missing(self):
        with tempfile.TemporaryDirectory() as d:
            for stock_dir, missing in ((os.path.join(d, "nowhere"), "mqtk-pub"), (d, "mqtk-pub")):
                r = subprocess.run([sys.executable, SCRIPT, "--quick", "--mqtk-bin", BIN_DIR,
                                    "--stock-paho", stock_dir], capture_output=True, timeout=60)
                err = r.stderr.decode(errors="replace")
                self.assertEqual(r.returncode, 1, err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                self.assertIn(os.path.join(stock_dir, missing), err)
                self.assertEqual(r.stdout, b"")
            # mqtk-pub present, mqtk-sub missing.
            os.symlink(os.path.abspath(os.path.join(BIN_DIR, "mqtk-pub")), os.path.join(d, "mqtk-pub"))
            r = subprocess.run([sys.executable, SCRIPT, "--quick", "--mqtk-bin", BIN_DIR, "--stock-paho", d],
                               capture_output=True, timeout=60)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 1, err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn(os.path.join(d, "mqtk-sub"), err)
            # --build-stock-paho never reconfigures a build that is not a
            # stock-Paho one (it fails before running cmake).
            with open(os.path.join(d, "CMakeCache.txt"), "w") as f:
                f.write("MQTK_STOCK_PAHO:BOOL=OFF\n")
            r = subprocess.run([sys.executable, SCRIPT, "--quick", "--mqtk-bin", BIN_DIR,
                                "--build-stock-paho", d], capture_output=True, timeout=60)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 1, err)
            self.assertIn("not reconfiguring", err)
            self.assertEqual(sorted(os.listdir(d)), ["CMakeCache.txt", "mqtk-pub"])
        # --stock-paho and --build-stock-paho exclude each other (a usage error).
        r = subprocess.run([sys.executable, SCRIPT, "--stock-paho", BIN_DIR, "--build-stock-paho"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"--build-stock-paho", r.stderr)


if __name__ == "__main__":
    unittest.main()
