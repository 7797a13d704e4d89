"""--help, --version and -d."""

import os
import re
import subprocess
import unittest

from mqtk_testing import TIMEOUT, BrokerTestCase, tool


class CliInfoTest(BrokerTestCase):
    def test_help(self):
        for name, flags in (("mqtk-pub", ["-t", "-m", "-f", "-s", "-l", "-n", "-q", "-r", "--repeat"]),
                            ("mqtk-sub", ["-t", "-T", "-U", "-C", "-W", "-R", "-E", "-F", "-v", "-N", "-j"])):
            with self.subTest(name=name):
                r = self.run_tool(name, "--help", port=False)
                self.assertEqual((r.returncode, r.stderr), (0, b""))
                out = r.stdout.decode()
                self.assertIn("Usage:", out)
                self.assertIn(name, out)
                for flag in flags + ["-h", "-p", "-L", "-V", "-u", "-P", "--will-topic", "--cafile"]:
                    self.assertRegex(out, rf"(^|[\s,]){re.escape(flag)}[\s,]", flag)
        self.assert_no_connection()

    def test_version(self):
        for name in ("mqtk-pub", "mqtk-sub"):
            with self.subTest(name=name):
                r = self.run_tool(name, "--version", port=False)
                self.assertEqual((r.returncode, r.stderr), (0, b""))
                self.assertRegex(r.stdout.decode(), r"^mqtk \d+\.\d+\.\d+ .*Paho MQTT C \d+\.\d+.*OpenSSL")
                self.assertEqual(r.stdout.count(b"\n"), 1)

    def test_version_names_openssl_version(self):
        r = self.run_tool("mqtk-pub", "--version", port=False)
        self.assertRegex(r.stdout.decode(), r"OpenSSL \d+\.\d+")

    def test_debug_events_on_stderr(self):
        sub = self.spawn_sub("-t", "dbg", "-C", "1", "-d", "-q", "1")
        r = self.run_tool("mqtk-pub", "-d", "-t", "dbg", "-m", "hi", "-q", "1", "-i", "dbgpub")
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"")
        err = r.stderr.decode()
        self.assertIn("dbgpub", err)
        self.assertIn(f"localhost:{self.port}", err)
        for event in ("CONNECT", "CONNACK", "PUBLISH", "DISCONNECT"):
            self.assertIn(event, err)
        rc, out, err = self.finish(sub)
        self.assertEqual(rc, 0)
        self.assertEqual(out, b"hi\n", "debug output must not mix with messages on stdout")
        for event in ("CONNECT", "CONNACK", "SUBSCRIBE", "SUBACK"):
            self.assertIn(event.encode(), err)

    def traced_publish(self, level):
        """One QoS 1 publish with Paho's trace on stdout at `level`; its stdout."""
        env = dict(os.environ, MQTT_C_CLIENT_TRACE="ON", MQTT_C_CLIENT_TRACE_LEVEL=level)
        r = subprocess.run([tool("mqtk-pub"), "-p", self.port, "-t", "tr", "-m", "hi", "-q", "1"],
                           capture_output=True, timeout=TIMEOUT, cwd=self.cwd, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout.decode(errors="replace")

    def test_paho_trace_environment_is_honoured(self):
        # mqtk turns Paho C's internal trace down to errors for speed, but
        # not when the user asks for Paho's own trace.
        out = self.traced_publish("PROTOCOL")
        self.assertIn("Trace Output", out)
        self.assertRegex(out, r"PUBLISH.*msgid", "protocol trace lines are written at the requested level")

    def test_paho_function_trace_is_honoured(self):
        # The linked Paho's function-entry stack is switched off at link time
        # (lib/mqtk/paho/wraps.cpp) but still feeds Paho's trace when asked for.
        out = self.traced_publish("MAXIMUM")
        self.assertRegex(out, r"\(\d+\)> MQTTAsync_send:\d+", "function entries are traced")
        self.assertRegex(out, r"\(\d+\)< MQTTAsync_send:\d+", "function exits are traced")


if __name__ == "__main__":
    unittest.main()
