"""scripts/bench-vs-mosquitto runs end to end (--quick --json): it exits 0,
prints one valid JSON object with every row, and no message was lost in any
run (the retained-message rows: mqtk-retain-clear left nothing, and
mosquitto_sub --remove-retained did not finish in its fixed time; plot_1k_cpu:
mqtk-sub --plot on a pseudo-terminal charted every value of the paced
stream, as its SVG's series count; the mqtk-bench rows: it received all it
sent, mosquitto_sub all N, all 10000 connections were made). Speed is
not asserted: CI machines are too noisy for that. With
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
    "sink_where_json", "publ_fields_where", "pub_json_lines",
    "retain_clear_50k", "retain_clear_200k", "plot_1k_cpu",
    "bench_saturate_qos0", "bench_cpu_per_msg", "bench_conn_10k",
    "tls_pub_oneshot", "tls_pub_lines", "tls_sub_sink",
}
# Rows that compare mqtk with itself (filter options against none).
FILTER_ROWS = {"sink_where_json", "publ_fields_where"}
# Rows whose baseline is not mosquitto, and their targets.
SELF_BASELINE_ROWS = {"sink_where_json": ">= 0.8", "publ_fields_where": ">= 0.8",
                      "pub_json_lines": ">= 0.8", "retain_clear_200k": "<= 1.5",
                      "bench_saturate_qos0": ">= 90.0"}
# Rows with a figure but no target and no mosquitto peer.
REPORT_ROWS = {"bench_conn_10k"}


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
        # --quick's 10 000 retained topics: on a quiet machine mosquitto_sub
        # cleared them all within its -W 1, which the row refuses (its rate is
        # then unknown). 50 000, as in a full run.
        r, err, result = self.run_json("--retained", "50000")
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
                if rid in REPORT_ROWS:
                    # A figure (mqtk) and a second one (value), no verdict.
                    for key in ("mqtk", "value"):
                        self.assertIsInstance(row[key], (int, float), key)
                        self.assertGreater(row[key], 0, key)
                    self.assertIsNone(row["mosquitto"])
                    self.assertIsNone(row["pass"])
                    self.assertEqual(row["target"], "reported")
                    continue
                # Every row has figures for both clients, a ratio and a verdict.
                for key in ("mqtk", "mosquitto", "value"):
                    self.assertIsInstance(row[key], (int, float), key)
                    self.assertGreater(row[key], 0, key)
                self.assertIn(row["pass"], (True, False))
                self.assertRegex(row["target"], r"^(<=|>=) \d+(\.\d+)?$")
        for rid, target in SELF_BASELINE_ROWS.items():
            with self.subTest(row=rid):
                self.assertEqual(rows[rid]["target"], target)
                self.assertNotEqual(rows[rid]["baseline"], "mosquitto")
        # Retained messages: mosquitto_sub ran its fixed time and left some
        # (else its rate would not be measured); retain_clear_200k clears 4 x
        # as many, against retain_clear_50k's own mqtk runs.
        n = result["config"]["retained"]
        rc50, rc200 = rows["retain_clear_50k"], rows["retain_clear_200k"]
        self.assertEqual(rc50["target"], ">= 10")
        self.assertEqual(rc50["baseline"], "mosquitto")
        self.assertEqual(rc50["messages_per_run"], n)
        mos = rc50["details"]["mosquitto"]
        self.assertEqual(len(mos["left"]), result["config"]["stream_runs"])
        for cleared, left in zip(mos["cleared"], mos["left"]):
            self.assertGreater(left, 0)
            self.assertEqual(cleared + left, n)
        self.assertEqual(rc200["messages_per_run"], 4 * n)
        self.assertEqual(rc200["unit"], "us/topic")
        # With one run each, the baseline is the 50k row's one mqtk run.
        self.assertAlmostEqual(rc200["mosquitto"], 1e6 / rc50["mqtk"], delta=1e-6 * rc200["mosquitto"])
        # The QoS 0 sink's ceiling (a subscriber doing no work per message)
        # ran as often as the clients and received every byte.
        for rid in ("sink_q0_raw", "sink_q0_json"):
            with self.subTest(ceiling=rid):
                ceiling = rows[rid]["details"]["null_subscriber"]
                self.assertEqual(ceiling["runs"], result["config"]["stream_runs"])
                self.assertGreater(ceiling["median_rate"], 0)
        # plot_1k_cpu: one paced stream, --plot-seconds x 1000 messages,
        # charted in full (3 series, every value) by mqtk-sub --plot while
        # mosquitto_sub printed it; CPU as % of a core, with the absolute
        # check beside the ratio.
        plot = rows["plot_1k_cpu"]
        n = 1000 * result["config"]["plot_seconds"]
        self.assertEqual(result["config"]["plot_seconds"], 2)
        self.assertEqual(plot["messages_per_run"], n)
        self.assertEqual(plot["unit"], "% CPU")
        self.assertEqual(plot["target"], "<= 3.0")
        self.assertEqual(plot["baseline"], "mosquitto")
        self.assertEqual(plot["details"]["runs"], result["config"]["stream_runs"])
        for points in plot["details"]["svg_points"]:
            self.assertEqual(len(points), 3)
            self.assertEqual(sum(points), 3 * n)
        self.assertAlmostEqual(plot["value"], plot["mqtk"] / plot["mosquitto"])
        spare = plot["cpu_to_spare"]
        self.assertEqual(spare["target"], "< 25")
        self.assertEqual(spare["figure"], plot["mqtk"])
        self.assertEqual(spare["pass"], plot["mqtk"] < 25)
        self.assertEqual(plot["pass"], plot["value"] <= 3.0 and spare["pass"])
        self.assertLess(plot["mqtk"], 100)
        # mqtk-bench: the broker's CPU is the value (and the "broker"
        # column); CPU per message of both sides over the same N messages;
        # conn -c 10000 against -c 1.
        runs = result["config"]["stream_runs"]
        sat = rows["bench_saturate_qos0"]
        self.assertEqual(sat["unit"], "% CPU")
        self.assertEqual(sat["value"], sat["mosquitto"])
        self.assertEqual(sat["details"]["runs"], runs)
        self.assertGreater(sat["details"]["median_received_rate"], 0)
        self.assertEqual(sat["details"]["median_received"], sat["details"]["median_sent"])
        cpm = rows["bench_cpu_per_msg"]
        self.assertEqual(cpm["unit"], "us/msg")
        self.assertEqual(cpm["target"], "<= 1.0")
        self.assertEqual(cpm["baseline"], "mosquitto")
        self.assertEqual(cpm["messages_per_run"], result["config"]["lines_qos0"])
        self.assertEqual(cpm["details"]["mqtk"]["runs"], runs)
        self.assertEqual(cpm["details"]["mosquitto"]["runs"], runs)
        self.assertAlmostEqual(cpm["value"], cpm["mqtk"] / cpm["mosquitto"])
        conn = rows["bench_conn_10k"]
        self.assertEqual(conn["unit"], "conn/s")
        self.assertEqual(conn["value_unit"], "B/conn")
        self.assertEqual(conn["connections"], 10000)
        self.assertEqual(conn["details"]["runs"], runs)
        self.assertEqual(len(conn["details"]["maxrss_kb_1"]), runs)
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

        # retain_clear_200k alone still runs its baseline, mqtk at N topics
        # (not reported), and not mosquitto_sub (so N can be small).
        r, err, result = self.run_json("--rows", "retain_clear_200k", "--retained", "2000")
        self.assertEqual(r.returncode, 0, err)
        self.assertEqual([row["id"] for row in result["rows"]], ["retain_clear_200k"])
        row = result["rows"][0]
        self.assertEqual(row["details"]["mqtk"]["runs"], result["config"]["stream_runs"])
        self.assertGreater(row["mosquitto"], 0)
        self.assertNotIn("mosquitto_sub -W", err)
        self.assertEqual(result["failed_runs"], 0)

        # plot_1k_cpu alone, with --plot-seconds; --stock-paho does not run
        # the stock build in it (the row gets no "stock" object).
        r, err, result = self.run_json("--quiet", "--rows", "plot_1k_cpu", "--plot-seconds", "1",
                                       "--stock-paho", BIN_DIR)
        self.assertEqual(r.returncode, 0, "\n".join(result.get("failures", [])) + err)
        self.assertEqual([row["id"] for row in result["rows"]], ["plot_1k_cpu"])
        row = result["rows"][0]
        self.assertEqual(row["messages_per_run"], 1000)
        self.assertEqual([sum(p) for p in row["details"]["svg_points"]], [3000])
        self.assertNotIn("stock", row)
        self.assertEqual(result["failed_runs"], 0)
        r = subprocess.run([sys.executable, SCRIPT, "--mqtk-bin", BIN_DIR, "--plot-seconds", "0"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"--plot-seconds", r.stderr)

        # A report row alone, as a table: its figures, "reported", no verdict.
        r = subprocess.run([sys.executable, SCRIPT, "--quick", "--quiet", "--mqtk-bin", BIN_DIR,
                            "--rows", "bench_conn_10k"], capture_output=True, timeout=300)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        lines = out.splitlines()
        self.assertRegex(lines[2], r"^bench_conn_10k +[\d,]+ conn/s +- +[\d,]+ B/conn +reported +- +0 *$")
        self.assertIn("all targets met: yes", out)

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
        # retain_clear_200k without retain_clear_50k runs no mosquitto_sub,
        # so few topics do.
        rows_wanted = ["sub_E_median", "publ_q0", "rss_q0_raw", "pub_json_lines", "retain_clear_200k"]
        r, err, result = self.run_json("--quiet", "--stock-paho", BIN_DIR, "--rows", ",".join(rows_wanted),
                                       "--retained", "2000")
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
                "publ_q0": result["config"]["stream_runs"],
                "pub_json_lines": result["config"]["stream_runs"],
                "retain_clear_200k": result["config"]["stream_runs"]}
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
                    self.assertIn(row["unit"], ("ms", "KiB", "us/topic"))
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
            # mqtk-pub and mqtk-sub present: the retain_clear rows need
            # mqtk-retain-clear too.
            os.symlink(os.path.abspath(os.path.join(BIN_DIR, "mqtk-sub")), os.path.join(d, "mqtk-sub"))
            r = subprocess.run([sys.executable, SCRIPT, "--quick", "--mqtk-bin", BIN_DIR, "--stock-paho", d,
                                "--rows", "retain_clear_50k"], capture_output=True, timeout=60)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 1, err)
            self.assertEqual(len(err.strip().splitlines()), 1, err)
            self.assertIn(os.path.join(d, "mqtk-retain-clear"), err)
            # --build-stock-paho never reconfigures a build that is not a
            # stock-Paho one (it fails before running cmake).
            with open(os.path.join(d, "CMakeCache.txt"), "w") as f:
                f.write("MQTK_STOCK_PAHO:BOOL=OFF\n")
            r = subprocess.run([sys.executable, SCRIPT, "--quick", "--mqtk-bin", BIN_DIR,
                                "--build-stock-paho", d], capture_output=True, timeout=60)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 1, err)
            self.assertIn("not reconfiguring", err)
            self.assertEqual(sorted(os.listdir(d)), ["CMakeCache.txt", "mqtk-pub", "mqtk-sub"])
        # --stock-paho and --build-stock-paho exclude each other (a usage error).
        r = subprocess.run([sys.executable, SCRIPT, "--stock-paho", BIN_DIR, "--build-stock-paho"],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"--build-stock-paho", r.stderr)


if __name__ == "__main__":
    unittest.main()
