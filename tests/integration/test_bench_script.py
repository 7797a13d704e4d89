"""scripts/bench-vs-mosquitto runs end to end (--quick --json): it exits 0,
prints one valid JSON object with every row, and no message was lost in any
run. Speed is not asserted: CI machines are too noisy for that."""

import json
import os
import subprocess
import sys
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
    def test_quick_json_run(self):
        r = subprocess.run([sys.executable, SCRIPT, "--quick", "--json", "--mqtk-bin", BIN_DIR],
                           capture_output=True, timeout=300)
        err = r.stderr.decode(errors="replace")
        try:
            result = json.loads(r.stdout)
        except ValueError as e:
            self.fail(f"stdout is not one JSON object ({e}):\n{r.stdout[:2000]!r}\nstderr:\n{err}")
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


if __name__ == "__main__":
    unittest.main()
