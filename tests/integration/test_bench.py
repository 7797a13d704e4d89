"""mqtk-bench against a real mosquitto per test (short runs): counts that add
up at QoS 1 and 2 (nothing lost or duplicated, fan-out and shared groups);
losses a broker with a tiny queue makes, counted and equal to its own $SYS
dropped counter; the open-loop schedule kept, and a broker frozen with
SIGSTOP showing in the percentiles; percentiles monotonic; the JSON valid
against man/mqtk-bench-result.schema.json; merge equal to the union;
--warmup, --start-at, --slo, --csv; separate pub and sub processes; the
progress line only on a terminal; usage errors before connecting."""

import json
import os
import pty
import re
import resource
import select
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import jsonschema

from mqtk_testing import MOSQUITTO_SUB, TIMEOUT, Broker, BrokerTestCase, tool, wait_for

SCHEMA_PATH = os.path.join(os.path.dirname(__file__), "..", "..", "man", "mqtk-bench-result.schema.json")
PERCENTILES = ["p50_us", "p90_us", "p99_us", "p99_9_us", "max_us"]


def quiet_broker_lines(broker):
    """A benchmark broker logs errors only: logging every PUBLISH would make
    the broker, not the client, the subject."""
    broker.base_lines = [line for line in broker.base_lines if not line.startswith(("log_type", "connection_messages"))]
    broker.base_lines += ["log_type error", "log_type warning", "connection_messages false"]


class BenchTestCase(BrokerTestCase):
    broker_config = "sys_interval 1"

    def setUp(self):
        # mosquitto inherits the open-files limit: raise it for many clients.
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.broker = Broker(extra_config=self.broker_config)
        quiet_broker_lines(self.broker)
        self.broker.start()
        self.port = str(self.broker.port)
        self.cwd = tempfile.mkdtemp(prefix="mqtk-cwd-")
        self.out = tempfile.mkdtemp(prefix="mqtk-bench-out-")
        self.procs = []
        with open(SCHEMA_PATH) as f:
            self.schema = json.load(f)

    def tearDown(self):
        super().tearDown()
        for name in os.listdir(self.out):
            os.unlink(os.path.join(self.out, name))
        os.rmdir(self.out)

    def bench(self, *args, timeout=TIMEOUT * 4, expect=0):
        r = self.run_tool("mqtk-bench", *args, port=False, timeout=timeout)
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, expect, f"stdout: {r.stdout.decode(errors='replace')}\nstderr: {err}")
        self.assertNotIn("terminate called", err)
        return r

    def bench_json(self, command, *args, expect=0, timeout=TIMEOUT * 4):
        r = self.bench(command, "-p", self.port, "-j", *args, expect=expect, timeout=timeout)
        result = json.loads(r.stdout)
        jsonschema.Draft202012Validator(self.schema).validate(result)
        self.assert_percentiles_monotonic(result)
        return result, r

    def assert_percentiles_monotonic(self, result):
        for name, latency in result["latency"].items():
            if latency["count"] == 0:
                continue
            values = [latency["min_us"]] + [latency[p] for p in PERCENTILES]
            self.assertEqual(values, sorted(values), f"{name} percentiles: {values}")

    @staticmethod
    def load(path):
        with open(path) as f:
            return json.load(f)

    def sys_value(self, topic):
        r = self.run_cmd([MOSQUITTO_SUB, "-p", self.port, "-C", "1", "-W", "10", "-t", topic])
        return int(r.stdout.decode().strip())


class TestCountsAddUp(BenchTestCase):
    def check_nothing_lost(self, qos):
        result, _ = self.bench_json("pubsub", "-q", str(qos), "-c", "3", "--subscribers", "2", "-n", "400")
        counts = result["qos"][qos]
        self.assertEqual(counts["sent"], 1200)
        self.assertEqual(counts["acknowledged"], 1200)
        self.assertEqual(counts["expected"], 2400)
        self.assertEqual(counts["received"], 2400)
        self.assertEqual(counts["unique"], 2400)
        self.assertEqual(counts["lost"], 0)
        self.assertEqual(counts["duplicates"], 0)
        self.assertEqual(result["latency"]["end_to_end"]["count"], 2400)
        self.assertEqual(result["latency"]["publish_to_ack"]["count"], 1200)
        self.assertEqual(result["connections"]["connected"], 5)
        self.assertEqual(result["connections"]["held"], 5)
        self.assertEqual(result["error_count"], 0)
        self.assertEqual(result["parameters"]["publishers"], 3)

    def test_qos1_nothing_lost_or_duplicated(self):
        self.check_nothing_lost(1)

    def test_qos2_nothing_lost_or_duplicated(self):
        self.check_nothing_lost(2)

    def test_shared_group_counts_each_message_once(self):
        result, _ = self.bench_json("pubsub", "-q", "1", "-c", "2", "--subscribers", "3", "--shared", "g", "-n", "300")
        counts = result["qos"][1]
        self.assertEqual(counts["sent"], 600)
        self.assertEqual(counts["expected"], 600)
        self.assertEqual(counts["unique"], 600)
        self.assertEqual(counts["lost"], 0)
        self.assertEqual(result["parameters"]["shared"], "g")

    def test_qos0_at_full_speed_counts_every_arrival(self):
        # 2 s: the broker (sys_interval 1) publishes its counters again
        # during the run, so they are shown.
        result, r = self.bench_json("pubsub", "-c", "2", "-D", "2")
        counts = result["qos"][0]
        self.assertGreater(counts["sent"], 1000)
        self.assertEqual(counts["received"] + counts["lost"], counts["expected"])
        self.assertEqual(counts["expected"], counts["sent"])
        self.assertIsNone(result["rate"]["target"])
        # The broker's counters beside the client's own.
        self.assertIn("publish/messages/received", result["broker_counters"])

    def test_separate_publisher_and_subscriber_processes(self):
        sub = self.spawn([tool("mqtk-bench"), "sub", "-p", self.port, "-q", "1", "-n", "250", "-j",
                          "-I", "bsub", "--no-sys", "-d"])
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(sub.stderr.readline, b"")), daemon=True)
        reader.start()
        wait_for(lambda: any(b"subscribed to mqtk-bench/#" in line for line in lines) or sub.poll() is not None,
                 what="the subscriber's SUBACK")
        self.bench("pub", "-p", self.port, "-q", "1", "-n", "250", "--no-sys")
        out, _ = sub.communicate(timeout=TIMEOUT)
        reader.join(timeout=TIMEOUT)
        self.assertEqual(sub.returncode, 0, b"".join(lines))
        result = json.loads(out)
        jsonschema.Draft202012Validator(self.schema).validate(result)
        self.assertEqual(result["qos"][1]["unique"], 250)
        self.assertEqual(result["qos"][1]["lost"], 0)
        self.assertEqual(result["qos"][1]["expected"], 0)  # not known to a subscriber alone


    def test_a_subscriber_joining_a_running_stream_counts_no_false_losses(self):
        # Joined mid-stream, the numbers before its first arrival were sent
        # before it subscribed: not losses.
        pub = self.spawn([tool("mqtk-bench"), "pub", "-p", self.port, "-q", "1", "--rate", "200", "-D", "30",
                          "--no-sys", "-d"])
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(pub.stderr.readline, b"")), daemon=True)
        reader.start()
        wait_for(lambda: any(b"sending" in line for line in lines) or pub.poll() is not None, what="the publisher")
        time.sleep(0.3)  # the stream well under way: numbers from ~60 on
        result, _ = self.bench_json("sub", "-q", "1", "-n", "100", "--no-sys")
        pub.send_signal(signal.SIGINT)
        pub.communicate(timeout=TIMEOUT)
        reader.join(timeout=TIMEOUT)
        self.assertEqual(result["qos"][1]["unique"], 100)
        self.assertEqual(result["qos"][1]["lost"], 0)
        self.assertEqual(result["error_count"], 0)

    def test_bind_address(self):
        result, _ = self.bench_json("pub", "-A", "127.0.0.1", "-n", "5", "--no-sys")
        self.assertEqual(result["qos"][0]["sent"], 5)
        r = self.bench("pub", "-p", self.port, "-A", "192.0.2.1", "-n", "5", "--no-sys", expect=1)
        self.assertIn(b"cannot connect to localhost:", r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)


class TestLossesCounted(BenchTestCase):
    # Every QoS 1 message beyond one in flight and five queued is dropped.
    broker_config = "sys_interval 1\nmax_inflight_messages 1\nmax_queued_messages 5"

    def test_tiny_queue_losses_are_counted_and_match_the_broker(self):
        result, r = self.bench_json("pubsub", "-q", "1", "-M", "200", "-n", "3000", expect=3)
        counts = result["qos"][1]
        self.assertEqual(counts["sent"], 3000)
        self.assertGreater(counts["lost"], 0)
        self.assertEqual(counts["unique"] + counts["lost"], 3000)
        self.assertIn("lost", r.stderr.decode())
        # mosquitto's own count of what it dropped (updated every ~2 s).
        wait_for(lambda: self.sys_value("$SYS/broker/publish/messages/dropped") == counts["lost"],
                 what=f"$SYS dropped to reach {counts['lost']}")

    def test_qos0_at_mosquitto_is_not_dropped_for_an_online_subscriber(self):
        # mosquitto 2.0 queues QoS 0 for online clients without limit: the
        # accounting must agree that nothing was lost.
        result, _ = self.bench_json("pubsub", "-n", "2000")
        self.assertEqual(result["qos"][0]["lost"], 0)
        self.assertEqual(result["qos"][0]["unique"], 2000)


class TestOpenLoop(BenchTestCase):
    def test_rate_holds_its_schedule(self):
        result, _ = self.bench_json("pubsub", "-q", "1", "--rate", "200", "-n", "300")
        self.assertEqual(result["qos"][1]["sent"], 300)
        self.assertEqual(result["rate"]["target"], 200)
        # 300 messages at 200/s take 1.5 s: never less (the schedule), and
        # the achieved rate is the target's.
        self.assertGreaterEqual(result["seconds"], 1.49)
        self.assertLessEqual(result["seconds"], 3.0)

    def test_a_frozen_broker_shows_in_the_percentiles(self):
        pid = self.broker.proc.pid
        p = self.spawn([tool("mqtk-bench"), "pubsub", "-p", self.port, "-q", "1", "--rate", "200", "-n", "600",
                        "-j", "--no-sys"])
        # Freeze it once sending is well under way, for half a second.
        wait_for(lambda: self.sys_value("$SYS/broker/publish/messages/received") >= 100, what="traffic")
        os.kill(pid, signal.SIGSTOP)
        time.sleep(0.5)  # the length of the freeze is the point of the test
        os.kill(pid, signal.SIGCONT)
        code, out, err = self.finish(p, timeout=TIMEOUT * 2)
        self.assertEqual(code, 0, err)
        result = json.loads(out)
        self.assertEqual(result["qos"][1]["unique"], 600)
        # Latency counts from the due time: messages due during the freeze
        # waited up to its length, and the 99th percentile shows it.
        self.assertGreaterEqual(result["latency"]["end_to_end"]["max_us"], 400_000)
        self.assertGreaterEqual(result["latency"]["end_to_end"]["p99_us"], 200_000)
        self.assertGreaterEqual(result["latency"]["publish_to_ack"]["p99_us"], 200_000)

    def test_warmup_is_left_out(self):
        result, _ = self.bench_json("pubsub", "-q", "1", "--rate", "100", "-n", "50", "--warmup", "0.5")
        self.assertEqual(result["qos"][1]["sent"], 50)
        self.assertEqual(result["qos"][1]["unique"], 50)
        self.assertEqual(result["latency"]["end_to_end"]["count"], 50)
        self.assertEqual(result["warmup_seconds"], 0.5)


class TestResults(BenchTestCase):
    def test_merge_equals_the_union(self):
        a = os.path.join(self.out, "a.json")
        b = os.path.join(self.out, "b.json")
        self.bench("pubsub", "-p", self.port, "-q", "1", "-n", "300", "-o", a, "--id-offset", "0")
        self.bench("pubsub", "-p", self.port, "-q", "1", "-n", "200", "-c", "2", "-o", b, "--id-offset", "10")
        ra, rb = (self.load(p) for p in (a, b))
        r = self.bench("merge", a, b, "-j")
        merged = json.loads(r.stdout)
        jsonschema.Draft202012Validator(self.schema).validate(merged)
        self.assertEqual(merged["command"], "merge")
        self.assertEqual(merged["runs"], 2)
        for field in ["sent", "acknowledged", "expected", "received", "unique", "lost"]:
            self.assertEqual(merged["qos"][1][field], ra["qos"][1][field] + rb["qos"][1][field], field)
        self.assertEqual(merged["qos"][1]["sent"], 700)
        # Histograms add bucket by bucket; the percentiles come from the sum.
        for name in ["end_to_end", "publish_to_ack", "connect"]:
            buckets = {}
            for run in (ra, rb):
                for index, count in run["latency"][name]["histogram"]["buckets"]:
                    buckets[index] = buckets.get(index, 0) + count
            got = {i: c for i, c in merged["latency"][name]["histogram"]["buckets"]}
            self.assertEqual(got, buckets, name)
            self.assertEqual(merged["latency"][name]["count"],
                             ra["latency"][name]["count"] + rb["latency"][name]["count"])
            self.assertEqual(merged["latency"][name]["max_us"],
                             max(ra["latency"][name]["max_us"], rb["latency"][name]["max_us"]))
        self.assert_percentiles_monotonic(merged)
        # The human summary of the same merge.
        text = self.bench("merge", a, b).stdout.decode()
        self.assertIn("merge", text)
        self.assertIn("700", text)

    def test_merge_bad_files(self):
        bad = os.path.join(self.out, "bad.json")
        with open(bad, "w") as f:
            f.write("{not json")
        r = self.bench("merge", bad, expect=1)
        self.assertIn("bad.json: not JSON", r.stderr.decode())
        r = self.bench("merge", os.path.join(self.out, "missing.json"), expect=1)
        self.assertIn("missing.json: cannot read", r.stderr.decode())
        other = os.path.join(self.out, "other.json")
        with open(other, "w") as f:
            json.dump({"format": 99}, f)
        r = self.bench("merge", other, expect=1)
        self.assertIn("other.json", r.stderr.decode())

    def test_slo_sets_the_exit_code(self):
        result, r = self.bench_json("pubsub", "-q", "1", "-n", "100", "--slo", "p99<=3600s,loss==0")
        self.assertIn("held", r.stderr.decode())
        result, r = self.bench_json("pubsub", "-q", "1", "-n", "100", "--slo", "p99<=1ns", expect=2)
        self.assertIn("missed", r.stderr.decode())
        text = self.bench("pubsub", "-p", self.port, "-n", "100", "--slo", "p50<=1ns", expect=2).stdout.decode()
        self.assertIn("missed", text)

    def test_csv_series(self):
        csv = os.path.join(self.out, "s.csv")
        self.bench("pubsub", "-p", self.port, "-q", "1", "--rate", "100", "-n", "150", "--csv", csv)
        with open(csv) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "second,sent,acknowledged,received,connected,errors,p50_us,p99_us,max_us")
        rows = [line.split(",") for line in lines[1:]]
        self.assertGreaterEqual(len(rows), 2)
        self.assertEqual(sum(int(row[1]) for row in rows), 150)
        self.assertEqual(sum(int(row[3]) for row in rows), 150)

    def test_start_at_waits_for_the_time(self):
        start = f"{time.time() + 1.5:.3f}"
        result, _ = self.bench_json("pubsub", "-n", "10", "--start-at", start)
        whole, fraction = start.split(".")
        self.assertGreaterEqual(result["started_unix_ns"], int(whole) * 10**9 + int(fraction) * 10**6 - 1000)
        iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
        result, _ = self.bench_json("pubsub", "-n", "10", "--start-at", iso)
        self.assertGreaterEqual(result["started_unix_ns"] // 10**9, int(time.time()) - 5)

    def test_summary_names_what_it_measured(self):
        text = self.bench("pubsub", "-p", self.port, "-q", "1", "-n", "200").stdout.decode()
        self.assertIn("pubsub", text)
        self.assertIn("p99", text)
        self.assertIn("200", text)
        self.assertNotIn("\r", text)


class TestProgress(BenchTestCase):
    def test_progress_only_on_a_terminal(self):
        # Not a terminal: no progress line at all.
        r = self.bench("pubsub", "-p", self.port, "-q", "1", "--rate", "200", "-n", "300")
        self.assertEqual(r.stderr, b"")
        # stderr on a pseudo-terminal: the live line, cleared before the end.
        master, slave = pty.openpty()
        p = subprocess.Popen([tool("mqtk-bench"), "pubsub", "-p", self.port, "-q", "1", "--rate", "200", "-n", "500"],
                             stdout=subprocess.PIPE, stderr=slave, cwd=self.cwd)
        os.close(slave)
        seen = b""
        while True:
            ready, _, _ = select.select([master], [], [], TIMEOUT)
            if not ready:
                break
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        out, _ = p.communicate(timeout=TIMEOUT)
        os.close(master)
        self.assertEqual(p.returncode, 0)
        text = seen.decode(errors="replace")
        self.assertIn("sent", text)
        self.assertIn("received", text)
        self.assertRegex(text, r"p99 [0-9.]+ (ns|us|ms|s)")
        self.assertTrue(text.endswith("\r\x1b[K"), repr(text[-40:]))
        self.assertNotIn("\x1b", out.decode())


class TestConnections(BenchTestCase):
    broker_config = "sys_interval 1\nmax_connections -1"

    def test_ten_thousand_connections(self):
        result, r = self.bench_json("conn", "-c", "10000", "-D", "0.5", timeout=TIMEOUT * 6)
        c = result["connections"]
        self.assertEqual(c["attempted"], 10000)
        self.assertEqual(c["connected"], 10000)
        self.assertEqual(c["held"], 10000)
        self.assertEqual(result["latency"]["connect"]["count"], 10000)
        self.assertEqual(c["connack"], {"0": 10000})
        text = self.bench("conn", "-p", self.port, "-c", "200").stdout.decode()
        self.assertIn("200", text)
        self.assertRegex(text, r"connect")

    def test_the_open_files_limit_is_named(self):
        r = self.run_cmd(["prlimit", "--nofile=300:300", tool("mqtk-bench"), "conn", "-p", self.port, "-c", "1000"])
        self.assertEqual(r.returncode, 1)
        err = r.stderr.decode()
        self.assertIn("-c 1000 needs", err)
        self.assertIn("open files", err)
        self.assertIn("300", err)
        self.assert_no_connection()

    def test_refused_connections_are_counted(self):
        self.broker.stop()
        r = self.bench("conn", "-p", self.port, "-c", "3", expect=1)
        self.assertIn("cannot connect to localhost:" + self.port + ": connection refused", r.stderr.decode())


class TestUsageErrors(BenchTestCase):
    def test_usage_errors_before_connecting(self):
        cases = [
            (["pub", "-s", "10"], "-s"),
            (["pub", "--rate", "0"], "--rate"),
            (["pub", "-n", "5", "-D", "1"], "-n and -D"),
            (["pubsub", "-t", "a/x%i"], "--sub-topic"),
            (["pub", "-L", "ws://localhost:1/mqtt"], "websockets"),
            (["pub", "--start-at", "yesterday"], "--start-at"),
            (["pub", "--start-at", "2001-01-01T00:00:00Z"], "in the past"),
            (["pub", "--slo", "p99<=5"], "needs a unit"),
            (["pub", "-t", "a/#"], "-t"),
            (["sub", "-t", "a/#/b"], "-t"),
            (["pubsub", "--shared", "a/b"], "--shared"),
            (["pub", "-c", "0"], "-c"),
            (["pub", "-q", "3"], "-q"),
            (["pub", "-o", "/nonexistent/dir/r.json"], "-o"),
            ([], "give a command: pub, sub, conn, pubsub or merge"),
            (["frobnicate"], "unknown command 'frobnicate'"),
            (["pubsb"], "did you mean pubsub?"),
            (["pub", "--start-at", "99999999999"], "out of range"),
            (["pub", "--property", "publish", "content-type", "x"], "--property is not supported"),
            (["pub", "--proxy", "socks5h://localhost:1080"], "libmosquitto has no SOCKS5"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                r = self.run_tool("mqtk-bench", *args, port=False)
                self.assert_usage_error(r, needle)
        self.assert_no_connection()
        self.assert_nothing_published()

    def test_help_and_version(self):
        r = self.bench("--help")
        for command in ["pub", "sub", "conn", "pubsub", "merge"]:
            self.assertIn(command, r.stdout.decode())
        r = self.bench("pubsub", "--help")
        for flag in ["--rate", "--warmup", "--subscribers", "--shared", "--slo", "--start-at", "--id-offset", "--cafile"]:
            self.assertIn(flag, r.stdout.decode())
        self.assertIn("libmosquitto", self.bench("--version").stdout.decode())


if __name__ == "__main__":
    unittest.main()
