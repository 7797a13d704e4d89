"""The same case through mosquitto_pub/mosquitto_sub 2.0.11 and through
mqtk-pub/mqtk-sub, each against its own fresh broker: exit codes, stdout
and what reached the broker must be the same."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from mqtk_testing import (MOSQUITTO_PUB, MOSQUITTO_SUB, BrokerTestCase, TIMEOUT, publishes_in_log, tool,
                          wait_for)

PUB = {"mosquitto": MOSQUITTO_PUB, "mqtk": tool("mqtk-pub")}
SUB = {"mosquitto": MOSQUITTO_SUB, "mqtk": tool("mqtk-sub")}
TST = re.compile(rb'"tst":\s*"[^"]*"')


class OracleTestCase(BrokerTestCase):
    def setUp(self):
        super().setUp()
        self.files = tempfile.mkdtemp(prefix="mqtk-files-")
        self.addCleanup(shutil.rmtree, self.files, True)

    def brokers(self):
        """A fresh broker per implementation (and per call, so that subtests
        start clean)."""
        yield "mosquitto", self.extra_broker()
        yield "mqtk", self.extra_broker()

    def file(self, name, data):
        path = os.path.join(self.files, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # Publishing -------------------------------------------------------
    def pub_case(self, *args, input=None):
        """Runs the publisher of each implementation and returns, per
        implementation, (rc, stdout, observed lines, broker's PUBLISH log)."""
        results = {}
        for impl, broker in self.brokers():
            observer = self.observe(broker)
            cid = f"pub-{impl}"
            r = self.run_cmd([PUB[impl], "-p", str(broker.port), "-i", cid] + list(args), input=input)
            if r.returncode == 0:
                self.wait_gone(broker, cid)
            results[impl] = (r.returncode, r.stdout, observer.collect(), publishes_in_log(broker, cid))
        return results

    def assert_same_pub(self, *args, input=None, expect_lines=None):
        results = self.pub_case(*args, input=input)
        self.assertEqual(results["mqtk"], results["mosquitto"], f"args={args!r}")
        rc, _, lines, _ = results["mqtk"]
        self.assertEqual(rc, 0)
        if expect_lines is not None:
            self.assertEqual(len(lines), expect_lines, lines)
        return results["mqtk"]

    # Subscribing ------------------------------------------------------
    def sub_case(self, args, retained=(), live=(), wait_subscribed=True, normalise_time=False):
        """Per implementation: publishes `retained` (topic, payload) with -r,
        starts the subscriber, publishes `live` (topic, payload, qos), and
        returns (rc, stdout)."""
        results = {}
        for impl, broker in self.brokers():
            port = str(broker.port)
            for topic, payload in retained:
                subprocess.run([MOSQUITTO_PUB, "-p", port, "-t", topic, "-s", "-r", "-q", "1"], input=payload,
                               check=True, capture_output=True, timeout=TIMEOUT)
            cid = f"sub-{impl}"
            p = self.spawn([SUB[impl], "-p", port, "-i", cid] + list(args))
            if wait_subscribed:
                self.wait_subscribed(broker, cid, p)
            for topic, payload, qos in live:
                subprocess.run([MOSQUITTO_PUB, "-p", port, "-t", topic, "-s" if payload else "-n", "-q", str(qos)],
                               input=payload or None, check=True, capture_output=True, timeout=TIMEOUT)
            out, err = p.communicate(timeout=TIMEOUT)
            if normalise_time:
                out = TST.sub(b'"tst":"T"', out)
            results[impl] = (p.returncode, out)
        return results

    def assert_same_sub(self, args, retained=(), live=(), expect=None, **kw):
        results = self.sub_case(args, retained, live, **kw)
        self.assertEqual(results["mqtk"], results["mosquitto"], f"args={args!r}")
        if expect is not None:
            self.assertEqual(results["mqtk"], expect)
        return results["mqtk"]


class PubOracleTest(OracleTestCase):
    def test_message_at_each_qos(self):
        for qos in ("0", "1", "2"):
            with self.subTest(qos=qos):
                _, _, lines, log = self.assert_same_pub("-t", "o/m", "-m", "héllo wörld", "-q", qos, expect_lines=1)
                self.assertEqual(log, [(int(qos), 0, "o/m", 13)])

    def test_binary_file(self):
        path = self.file("blob", bytes(range(256)) * 3 + b"\0\r\n")
        _, _, lines, _ = self.assert_same_pub("-t", "o/f", "-f", path, "-q", "1", expect_lines=1)
        self.assertEqual(lines[0], "o/f 1 " + (bytes(range(256)) * 3 + b"\0\r\n").hex())

    def test_empty_file(self):
        self.assert_same_pub("-t", "o/f", "-f", self.file("empty", b""), expect_lines=1)

    def test_stdin_whole(self):
        for qos in ("0", "2"):
            with self.subTest(qos=qos):
                self.assert_same_pub("-t", "o/s", "-s", "-q", qos, input=b"line 1\nline 2\r\n\xff\x00end",
                                     expect_lines=1)

    def test_stdin_lines(self):
        data = b"first\n\nthird\r\n\n\xc3\xa9 fifth\nlast without newline"
        for qos in ("0", "1", "2"):
            with self.subTest(qos=qos):
                _, _, lines, log = self.assert_same_pub("-t", "o/l", "-l", "-q", qos, input=data, expect_lines=6)
                self.assertEqual([entry[3] for entry in log], [5, 0, 6, 0, 8, 20])

    def test_stdin_lines_empty_input(self):
        self.assert_same_pub("-t", "o/l", "-l", input=b"", expect_lines=0)

    def test_null_message_and_empty_message(self):
        self.assert_same_pub("-t", "o/n", "-n", "-q", "1", expect_lines=1)
        self.assert_same_pub("-t", "o/n", "-m", "", expect_lines=1)

    def test_retain(self):
        for qos in ("0", "1", "2"):
            with self.subTest(qos=qos):
                _, _, _, log = self.assert_same_pub("-t", "o/r", "-m", "kept", "-r", "-q", qos, expect_lines=1)
                self.assertEqual(log, [(int(qos), 1, "o/r", 4)])

    def test_repeat(self):
        for qos in ("0", "1", "2"):
            with self.subTest(qos=qos):
                _, _, lines, log = self.assert_same_pub("-t", "o/rep", "-m", "again", "--repeat", "3", "-q", qos,
                                                        expect_lines=3)
                self.assertEqual(len(log), 3)

    def test_usage_error_exit_codes(self):
        for args in (["-t", "a/+", "-m", "x"], ["-t", "a", "-q", "3", "-m", "x"], ["-m", "x"], ["-t", "a"],
                     ["-t", "a", "-m", "x", "-f", "y"], ["-t", "a", "-m", "x", "-l"], ["-t", "a", "-s", "-n"],
                     ["-t", "a", "-f", "/nonexistent/file"], ["-t", "a", "-s"], ["-t", "a", "-m", "x", "-V", "7"],
                     ["-t", "a", "-m", "x", "-k", "0"], ["-t", "a", "-m", "x", "-x", "junk"],
                     ["-t", "a", "-m", "x", "-p", "70000"], ["--bogus"], ["-t", "a", "-m", "x", "-c"],
                     ["-t", "a", "-m", "x", "-i", "a", "-I", "b"], ["-t", "a", "-n", "--repeat", "0"],
                     ["-L", "http://h/t", "-m", "x"]):
            with self.subTest(args=args):
                for impl in ("mosquitto", "mqtk"):
                    r = self.run_cmd([PUB[impl], "-p", self.port] + args, input=b"")
                    self.assertEqual(r.returncode, 1, f"{impl}: {r.stderr!r}")
        self.assert_nothing_published()
        self.assert_no_connection()

    def test_connection_refused_exit_code(self):
        port = str(self.broker.port)
        self.broker.stop()
        for impl in ("mosquitto", "mqtk"):
            r = self.run_cmd([PUB[impl], "-h", "127.0.0.1", "-p", port, "-t", "a", "-m", "x"])
            self.assertEqual(r.returncode, 1, impl)


class SubOracleTest(OracleTestCase):
    LIVE = [("s/a", b"hello", 0), ("s/b", b"", 0), ("s/c", b"bin\x00\xff\xfe", 0), ("s/d", b"tail", 0)]

    def test_default_output(self):
        self.assert_same_sub(["-t", "s/#", "-C", "4"], live=self.LIVE,
                             expect=(0, b"hello\nbin\x00\xff\xfe\ntail\n"))

    def test_verbose(self):
        self.assert_same_sub(["-t", "s/#", "-C", "4", "-v"], live=self.LIVE,
                             expect=(0, b"s/a hello\ns/b (null)\ns/c bin\x00\xff\xfe\ns/d tail\n"))

    def test_no_eol(self):
        self.assert_same_sub(["-t", "s/#", "-C", "4", "-N"], live=self.LIVE, expect=(0, b"hellobin\x00\xff\xfetail"))
        self.assert_same_sub(["-t", "s/#", "-C", "4", "-N", "-v"], live=self.LIVE,
                             expect=(0, b"s/a hellos/c bin\x00\xff\xfes/d tail"))

    def test_format_sequences(self):
        fmt = ("%t|%p|%l|%q|%r|%%|%x|%X|[%10t][%-10t][%.2t][%8.3t][%010p][%-10p][%3p][%5l][%-5l][%05l][%-05l]"
               "[%5q][%5%][%.0t][%-3.1t]@@\\t\\\\\\e\\a\\0\\v\\r|[%5A][%5C][%5D][%05E][%-5F][%5P][%5R][%5S]")
        for qos in ("0", "1"):
            with self.subTest(qos=qos):
                live = [("f/a", b"hello", int(qos)), ("f/bb", b"", int(qos)), ("f/c", b"x\x00y\xff", int(qos))]
                self.assert_same_sub(["-t", "f/#", "-C", "3", "-q", qos, "-F", fmt], live=live)

    def test_format_message_id(self):
        # One QoS per run: Paho hands a QoS 2 message over on PUBREL, so a
        # QoS 0 message published right after it may be printed first.
        for qos in (0, 1, 2):
            with self.subTest(qos=qos):
                live = [("m/a", b"1", qos), ("m/a", b"2", qos), ("m/a", b"3", qos)]
                mids = (1, 2, 3) if qos else (0, 0, 0)
                self.assert_same_sub(["-t", "m/#", "-C", "3", "-q", "2", "-F", "%m %05m %q"], live=live,
                                     expect=(0, b"".join(b"%d %05d %d\n" % (m, m, qos) for m in mids)))

    def test_format_json(self):
        live = [("j/a", b'{"a":[1,2,"x"],"b":null,"c":{"d":true}}', 0), ("j/b", b"plain \"text\"\n\t\\", 1),
                ("j/c", b"", 0), ("j/d", b"[]", 0)]
        self.assert_same_sub(["-t", "j/#", "-C", "4", "-q", "1", "-F", "%j"], live=live, normalise_time=True)
        self.assert_same_sub(["-t", "j/#", "-C", "4", "-q", "1", "-F", "%J|%t"],
                             live=[live[0], ("j/e", b' {"n": [1, -2, 0]} ', 1), live[2], live[3]],
                             normalise_time=True)

    def test_format_pretty_json(self):
        live = [("p/a", b'{"a":[1,2,"x"],"b":{},"c":{"d":[{"e":{}}]}}', 0), ("p/b", b'[{"x":1},[2,{}]]', 0),
                ("p/c", b'"str"', 0)]
        self.assert_same_sub(["-t", "p/#", "-C", "3", "-F", "%J", "--pretty"], live=live, normalise_time=True)
        self.assert_same_sub(["-t", "p/#", "-C", "3", "-F", "%j", "--pretty"], live=live, normalise_time=True)

    def test_count_with_retained(self):
        retained = [("c/r1", b"old1"), ("c/r2", b"old2")]
        self.assert_same_sub(["-t", "c/#", "-C", "3", "-v"], retained=retained, live=[("c/x", b"new", 0)],
                             expect=(0, b"c/r1 old1\nc/r2 old2\nc/x new\n"))
        self.assert_same_sub(["-t", "c/#", "-C", "2", "-F", "%r %t %p"], retained=retained,
                             expect=(0, b"1 c/r1 old1\n1 c/r2 old2\n"))

    def test_no_stale(self):
        self.assert_same_sub(["-t", "c/#", "-C", "1", "-R", "-v"], retained=[("c/r", b"old")],
                             live=[("c/x", b"new", 1)], expect=(0, b"c/x new\n"))

    def test_filter_out(self):
        self.assert_same_sub(["-t", "f/#", "-T", "f/+", "-T", "f/a/#", "-C", "1", "-v"],
                             live=[("f/x", b"dropped", 0), ("f/a/b", b"dropped", 0), ("f/b/c", b"kept", 0)],
                             expect=(0, b"f/b/c kept\n"))

    def test_retained_only(self):
        self.assert_same_sub(["-t", "r/#", "--retained-only", "-v"], retained=[("r/a", b"1"), ("r/b", b"2")],
                             live=[("r/live", b"x", 0)], expect=(0, b"r/a 1\nr/b 2\n"))

    def test_exit_after_subscribe(self):
        self.assert_same_sub(["-t", "e/#", "-E"], retained=[("e/r", b"old")], wait_subscribed=False,
                             expect=(0, b""))

    def test_timeout_exit_code(self):
        self.assert_same_sub(["-t", "w/#", "-W", "1"], wait_subscribed=False, expect=(27, b""))

    def test_unsubscribe(self):
        self.assert_same_sub(["-t", "u/#", "-U", "u/#", "-E"], wait_subscribed=False, expect=(0, b""))

    def test_usage_error_exit_codes(self):
        for args in (["-t", "a/#/b"], ["-t", "a+"], [], ["-t", "a", "-T", "x/#/y"],
                     ["-t", "a", "-U", "a+"], ["-t", "a", "-F", "%Z"], ["-t", "a", "-F", "%"],
                     ["-t", "a", "-F", "x\\q"], ["-t", "a", "-F", "@"], ["-t", "a", "-C", "0"],
                     ["-t", "a", "-W", "0"], ["-t", "a", "-R", "--retained-only"], ["-t", "a", "-q", "3"],
                     ["-t", "a", "-m", "x"], ["-t", "a", "-V", "6"], ["-t", "a", "-x", "-2"]):
            with self.subTest(args=args):
                for impl in ("mosquitto", "mqtk"):
                    r = self.run_cmd([SUB[impl], "-p", self.port] + args)
                    self.assertEqual(r.returncode, 1, f"{impl}: {r.stderr!r}")
                    self.assertEqual(r.stdout, b"", impl)
        self.assert_no_connection()

    def test_connection_refused_exit_code(self):
        port = str(self.broker.port)
        self.broker.stop()
        for impl in ("mosquitto", "mqtk"):
            r = self.run_cmd([SUB[impl], "-h", "127.0.0.1", "-p", port, "-t", "a"])
            self.assertEqual((r.returncode, r.stdout), (1, b""), impl)


class DeliberateDifferencesTest(BrokerTestCase):
    """Where mqtk differs from mosquitto on purpose (README, "Differences
    from mosquitto"): mqtk's behaviour is asserted, mosquitto's noted."""

    def test_help_exits_0(self):
        # mosquitto exits 1 after --help; a successful help request is not an error.
        self.assertEqual(self.run_cmd([MOSQUITTO_PUB, "--help"]).returncode, 1)
        for name in ("mqtk-pub", "mqtk-sub"):
            r = self.run_tool(name, "--help", port=False)
            self.assertEqual((r.returncode, r.stderr), (0, b""), name)
            self.assertIn(b"Usage:", r.stdout)

    def test_version_exits_0(self):
        self.assertEqual(self.run_cmd([MOSQUITTO_SUB, "--version"]).returncode, 1)
        r = self.run_tool("mqtk-sub", "--version", port=False)
        self.assertEqual(r.returncode, 0)

    def test_j_with_invalid_utf8_writes_base64(self):
        # mosquitto writes the raw bytes, which is not JSON; mqtk stays valid JSON.
        sub = self.spawn_sub("-t", "x", "-C", "1", "-F", "%j")
        self.run_tool("mqtk-pub", "-t", "x", "-s", input=b"\xff\xfe")
        rc, out, _ = self.finish(sub)
        self.assertEqual(rc, 0)
        self.assertIn(b'"payloadlen":2,"payload_base64":"//4="}\n', out)

    def test_J_keeps_numbers_as_written(self):
        # mosquitto re-prints numbers with %.15g (2.50 -> 2.5, 1e400 -> null); mqtk keeps the sender's digits.
        sub = self.spawn_sub("-t", "x", "-C", "1", "-F", "%J")
        self.run_tool("mqtk-pub", "-t", "x", "-m", '{"a": 2.50, "b": 1e400}')
        rc, out, _ = self.finish(sub)
        self.assertEqual(rc, 0)
        self.assertTrue(out.endswith(b'"payload":{"a":2.50,"b":1e400}}\n'), out)

    def test_timeout_message(self):
        # mosquitto prints "Timed out"; mqtk names the tool and the flag. The exit code is the same (27).
        r = self.run_tool("mqtk-sub", "-t", "w", "-W", "0.2")
        self.assertEqual(r.returncode, 27)
        self.assertEqual(r.stderr, b"mqtk-sub: timed out after 0.2 s (-W)\n")

    def test_lost_connection_with_no_reconnect_exits_1(self):
        # Both reconnect by default (test_reconnect); mosquitto_sub has no way
        # to fail fast, mqtk-sub --no-reconnect reports the loss and exits 1.
        sub = self.spawn_sub("-t", "x", "--no-reconnect")
        self.broker.stop()
        rc, out, err = self.finish(sub)
        self.assertEqual(rc, 1)
        self.assertIn(b"lost the connection to localhost:" + self.port.encode(), err)
        self.assertEqual(err.count(b"\n"), 1, err)


if __name__ == "__main__":
    unittest.main()
