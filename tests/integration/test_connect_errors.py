"""Failing to connect: exit codes as mosquitto's clients, one line naming
host:port and the reason, and the password never shown."""

import unittest

from mqtk_testing import MOSQUITTO_PUB, MOSQUITTO_SUB, BrokerTestCase, free_port

PASSWORD = "s3cret-Pa55"


class NetworkErrorsTest(BrokerTestCase):
    def assert_one_line(self, r, *needles):
        err = r.stderr.decode(errors="replace")
        self.assertEqual(err.count("\n"), 1, err)
        self.assertNotIn("terminate called", err)
        for n in needles:
            self.assertIn(n, err)
        self.assertEqual(r.stdout, b"")

    def test_nothing_listening(self):
        port = str(free_port())
        for name, args in (("mqtk-pub", ["-t", "a", "-m", "x"]), ("mqtk-sub", ["-t", "a"])):
            with self.subTest(name=name):
                r = self.run_tool(name, "-h", "127.0.0.1", "-p", port, *args, port=False)
                self.assertEqual(r.returncode, 1)
                self.assert_one_line(r, f"127.0.0.1:{port}", "Connection refused")
        r = self.run_cmd([MOSQUITTO_PUB, "-h", "127.0.0.1", "-p", port, "-t", "a", "-m", "x"])
        self.assertEqual(r.returncode, 1)

    def test_unknown_host(self):
        for name, args in (("mqtk-pub", ["-t", "a", "-m", "x"]), ("mqtk-sub", ["-t", "a"])):
            with self.subTest(name=name):
                r = self.run_tool(name, "-h", "nonexistent.invalid", *args)
                self.assertEqual(r.returncode, 1)
                self.assert_one_line(r, "nonexistent.invalid")
        r = self.run_cmd([MOSQUITTO_SUB, "-h", "nonexistent.invalid", "-t", "a"])
        self.assertEqual(r.returncode, 1)

    # Every other tool that connects: the same exit code 1 and one line.
    # mqtk-sys-monitor --once is a Nagios check: UNKNOWN (3), its status
    # line on stdout; mqtk-bench names the error as libmosquitto gives it.
    OTHER_TOOLS = (("mqtk-retain-clear", ["-t", "a"], 1), ("mqtk-sys-monitor", ["--format", "json"], 1),
                   ("mqtk-sys-monitor", ["--once"], 3), ("mqtk-bench", ["pub", "-n", "1"], 1))

    def check_other_tools(self, host, port, why):
        for name, args, code in self.OTHER_TOOLS:
            with self.subTest(name=name, args=args):
                argv = args[:1] + ["-h", host, "-p", port] + args[1:] if name == "mqtk-bench" else \
                    ["-h", host, "-p", port] + args
                r = self.run_tool(name, *argv, port=False)
                self.assertEqual(r.returncode, code, r.stderr)
                err = r.stderr.decode(errors="replace")
                lines = err.splitlines()
                self.assertEqual(len(lines), 1, err)
                start = f"{name}: cannot connect to {host}:{port}: "
                self.assertTrue(lines[0].startswith(start), err)
                # "unknown host (Name or service not known)", mqtk-bench
                # "unknown host"; mqtk-bench "connection refused".
                self.assertTrue(lines[0][len(start):].lower().startswith(why.lower()), err)
                if "--once" in args:
                    self.assertEqual(r.stdout.decode(), f"MQTT BROKER UNKNOWN - {lines[0][len(name) + 2:]}\n")
                else:
                    self.assertEqual(r.stdout, b"")

    def test_nothing_listening_for_every_tool(self):
        self.check_other_tools("127.0.0.1", str(free_port()), "Connection refused")

    def test_unknown_host_for_every_tool(self):
        self.check_other_tools("nonexistent.invalid", "1883", "unknown host")

    def test_quiet_hides_runtime_errors(self):
        port = str(free_port())
        r = self.run_tool("mqtk-pub", "-h", "127.0.0.1", "-p", port, "-t", "a", "-m", "x", "--quiet", port=False)
        self.assertEqual((r.returncode, r.stderr), (1, b""))
        # Usage errors are still printed, as in mosquitto.
        r = self.run_tool("mqtk-pub", "-t", "a/#", "-m", "x", "--quiet")
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"-t", r.stderr)


class AuthenticationTest(BrokerTestCase):
    broker_options = {"allow_anonymous": False, "passwords": {"alice": PASSWORD}}

    CASES = (("mqtk-pub", MOSQUITTO_PUB, ["-t", "a", "-m", "x"]), ("mqtk-sub", MOSQUITTO_SUB, ["-t", "a", "-E"]))

    def check_refused(self, version, expected_code, *credentials):
        for name, oracle, args in self.CASES:
            with self.subTest(name=name, version=version, credentials=credentials):
                mine = self.run_tool(name, "-V", version, *credentials, *args)
                theirs = self.run_cmd([oracle, "-p", self.port, "-V", version, *credentials, *args])
                self.assertEqual(theirs.returncode, expected_code, theirs.stderr)
                self.assertEqual(mine.returncode, expected_code, mine.stderr)
                err = mine.stderr.decode(errors="replace")
                self.assertEqual(err.count("\n"), 1, err)
                self.assertIn(f"localhost:{self.port}", err)
                self.assertNotIn(PASSWORD, err)
                self.assertNotIn("wrong", err)
        self.assert_nothing_published()

    def test_wrong_password_v311(self):
        self.check_refused("311", 5, "-u", "alice", "-P", "wrong")

    def test_wrong_password_v31(self):
        self.check_refused("31", 5, "-u", "alice", "-P", "wrong")

    def test_wrong_password_v5(self):
        self.check_refused("5", 135, "-u", "alice", "-P", "wrong")

    def test_anonymous_refused(self):
        self.check_refused("311", 5)

    def test_correct_password(self):
        sub = self.spawn_sub("-t", "auth", "-C", "1", "-u", "alice", "-P", PASSWORD)
        r = self.run_tool("mqtk-pub", "-t", "auth", "-m", "ok", "-u", "alice", "-P", PASSWORD, "-V", "5")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"ok\n", b""))

    def test_password_in_url(self):
        r = self.run_tool("mqtk-pub", "-L", f"mqtt://alice:{PASSWORD}@localhost:{self.port}/auth", "-m", "ok",
                          port=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        r = self.run_tool("mqtk-pub", "-L", f"mqtt://alice:nope{PASSWORD}@localhost:{self.port}/auth", "-m", "ok",
                          port=False)
        self.assertEqual(r.returncode, 5)
        self.assertNotIn(PASSWORD.encode(), r.stderr)

    def test_debug_never_shows_the_password(self):
        r = self.run_tool("mqtk-pub", "-d", "-t", "auth", "-m", "ok", "-u", "alice", "-P", PASSWORD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"")
        err = r.stderr.decode()
        for event in ("CONNECT", "CONNACK", "PUBLISH", "DISCONNECT"):
            self.assertIn(event, err)
        self.assertNotIn(PASSWORD, err)
        r = self.run_tool("mqtk-sub", "-d", "-t", "auth", "-E", "-u", "alice", "-P", "wrong" + PASSWORD)
        self.assertEqual(r.returncode, 5)
        self.assertNotIn(PASSWORD.encode(), r.stderr)


if __name__ == "__main__":
    unittest.main()
