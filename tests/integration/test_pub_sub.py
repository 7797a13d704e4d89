"""mqtk-pub into mqtk-sub through a real mosquitto."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import unittest

from mqtk_testing import MOSQUITTO_PUB, MOSQUITTO_SUB, BrokerTestCase, tool, wait_for


class PubSubTest(BrokerTestCase):
    def test_round_trip_at_each_qos(self):
        for qos in ("0", "1", "2"):
            with self.subTest(qos=qos):
                sub = self.spawn_sub("-t", f"rt/{qos}", "-q", qos, "-C", "1", "-v")
                pub = self.run_tool("mqtk-pub", "-t", f"rt/{qos}", "-m", f"hello {qos}", "-q", qos)
                self.assertEqual(pub.returncode, 0, pub.stderr)
                self.assertEqual(pub.stdout, b"")
                rc, out, err = self.finish(sub)
                self.assertEqual((rc, out, err), (0, f"rt/{qos} hello {qos}\n".encode(), b""))

    def test_json_lines(self):
        sub = self.spawn_sub("-t", "j/#", "-C", "4", "-j")
        for payload in (b'{"x": 1.50, "y": [1, 2]}', b"plain text", b"\xff\xfe", b"two\nlines"):
            r = self.run_tool("mqtk-pub", "-t", "j/a", "-s", input=payload)
            self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        lines = out.decode().split("\n")
        self.assertEqual(lines[-1], "")
        objs = [json.loads(line) for line in lines[:-1]]
        self.assertEqual([list(o) for o in objs[:2]], [["tst", "topic", "qos", "retain", "payload"]] * 2)
        self.assertEqual(objs[0]["payload"], {"x": 1.5, "y": [1, 2]})
        self.assertIn('"payload":{"x":1.50,"y":[1,2]}', lines[0], "numbers keep their digits")
        self.assertEqual(objs[1]["payload"], "plain text")
        self.assertEqual(objs[2]["payload_base64"], "//4=")
        self.assertNotIn("payload", objs[2])
        self.assertEqual(objs[3]["payload"], "two\nlines")
        self.assertIs(objs[0]["retain"], False)
        self.assertRegex(objs[0]["tst"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")

    def test_retained_and_no_stale(self):
        r = self.run_tool("mqtk-pub", "-t", "ret/a", "-m", "kept", "-r", "-q", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        got = self.run_tool("mqtk-sub", "-t", "ret/#", "-C", "1", "-F", "%r %t %p")
        self.assertEqual((got.returncode, got.stdout), (0, b"1 ret/a kept\n"))
        # -R drops the stale message; the live one gets through.
        sub = self.spawn_sub("-t", "ret/#", "-R", "-C", "1", "-v")
        self.run_tool("mqtk-pub", "-t", "ret/b", "-m", "live")
        rc, out, _ = self.finish(sub)
        self.assertEqual((rc, out), (0, b"ret/b live\n"))

    def test_retained_only_and_remove_retained(self):
        for t in ("rr/a", "rr/b", "rr/keep"):
            self.assertEqual(self.run_tool("mqtk-pub", "-t", t, "-m", "x", "-r", "-q", "1").returncode, 0)
        sub = self.spawn_sub("-t", "rr/#", "--retained-only", "--remove-retained", "-T", "rr/keep", "-v")
        self.run_tool("mqtk-pub", "-t", "rr/live", "-m", "not retained")
        rc, out, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        self.assertEqual(sorted(out.decode().splitlines()), ["rr/a x", "rr/b x"])
        left = self.run_tool("mqtk-sub", "-t", "rr/#", "-W", "1", "-v")
        self.assertEqual(left.returncode, 27)
        self.assertEqual(left.stdout, b"rr/keep x\n")

    def test_timeout_exit_code(self):
        r = self.run_tool("mqtk-sub", "-t", "nothing/here", "-W", "1")
        self.assertEqual(r.returncode, 27)
        self.assertIn(b"timed out", r.stderr)

    def test_exit_after_subscribe(self):
        r = self.run_tool("mqtk-sub", "-t", "e/#", "-E")
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))
        self.assertIn("Received SUBSCRIBE", self.broker.log())

    def test_unsubscribe(self):
        r = self.run_tool("mqtk-sub", "-t", "u/#", "-U", "u/#", "-E", "-c", "-i", "persist")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Received UNSUBSCRIBE from persist", self.broker.log())

    def test_filter_out(self):
        sub = self.spawn_sub("-t", "f/#", "-T", "f/+", "-C", "1", "-v")
        self.run_tool("mqtk-pub", "-t", "f/x", "-m", "dropped")
        self.run_tool("mqtk-pub", "-t", "f/a/b", "-m", "kept")
        rc, out, _ = self.finish(sub)
        self.assertEqual((rc, out), (0, b"f/a/b kept\n"))

    def test_line_mode_ten_thousand_lines(self):
        n = 10000
        sub = self.spawn_sub("-t", "lines", "-C", str(n), "-q", "1")
        data = "".join(f"{i},{i * 0.5}\n" for i in range(n)).encode()
        r = self.run_tool("mqtk-pub", "-t", "lines", "-l", "-q", "1", input=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, data)

    def test_line_mode_large_lines_under_backpressure(self):
        # Lines larger than the socket takes at once: most writes are
        # partial and finished by Paho's receive thread while the publish
        # window is full (the send thread must be woken each time).
        n, width = 300, 64 * 1024
        data = b"".join(f"{i:06d}".encode() + b"x" * (width - 7) + b"\n" for i in range(n))
        for qos in ("0", "1"):
            with self.subTest(qos=qos):
                sub = self.spawn_sub("-t", f"wide/{qos}", "-C", str(n), "-q", qos)
                r = self.run_tool("mqtk-pub", "-t", f"wide/{qos}", "-l", "-q", qos, input=data)
                self.assertEqual(r.returncode, 0, r.stderr)
                rc, out, err = self.finish(sub)
                self.assertEqual((rc, err), (0, b""))
                self.assertTrue(out == data, "lines lost, changed or out of order")

    def test_large_payload_from_file(self):
        # Larger than the socket buffers: Paho writes it in parts, and the
        # subscriber reads it past the read-ahead buffer.
        payload = os.urandom(24 * 1024 * 1024)
        path = os.path.join(tempfile.mkdtemp(prefix="mqtk-big-"), "payload.bin")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
        with open(path, "wb") as f:
            f.write(payload)
        for qos in ("0", "1"):
            with self.subTest(qos=qos):
                sub = self.spawn_sub("-t", f"big/{qos}", "-C", "1", "-N", "-q", qos)
                r = self.run_tool("mqtk-pub", "-t", f"big/{qos}", "-f", path, "-q", qos)
                self.assertEqual(r.returncode, 0, r.stderr)
                rc, out, err = self.finish(sub)
                self.assertEqual((rc, err), (0, b""))
                self.assertEqual(len(out), len(payload))
                self.assertTrue(out == payload, "payload changed on the way")

    def received(self, topic, count, *args, tool_name="mqtk-sub"):
        """A subscriber to `topic` for `count` messages, then `args`."""
        return self.spawn_sub("-t", topic, "-C", str(count), *args, tool_name=tool_name)

    def test_line_ends_in_line_mode_as_mosquitto_pub(self):
        # CRLF lines keep their CR (as mosquitto_pub -l: documented in
        # mqtk-pub(1)), an empty line is an empty message, and a last line
        # without a newline is published too.
        data = b"a\r\n\n\r\nb c\r\nlast"
        want = b"610d\n\n0d\n6220630d\n6c617374\n"
        for publisher in (tool("mqtk-pub"), MOSQUITTO_PUB):
            with self.subTest(publisher=os.path.basename(publisher)):
                sub = self.received("le/l", 5, "-F", "%x")
                r = self.run_cmd([publisher, "-p", self.port, "-t", "le/l", "-l", "-q", "1"], input=data)
                self.assertEqual((r.returncode, r.stderr), (0, b""))
                self.assertEqual(self.finish(sub), (0, want, b""))
        # --fields ignores the CR of CRLF input; --json-lines reads CRLF
        # lines; both publish a last line without a newline.
        sub = self.received("le/f", 2, "-F", "%p")
        r = self.run_tool("mqtk-pub", "-t", "le/f", "-l", "--fields", "a,b", "-q", "1", input=b"1, 2\r\n3,4.50")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(sub), (0, b'{"a":1,"b":2}\n{"a":3,"b":4.50}\n', b""))
        sub = self.received("le/j", 2, "-F", "%x")
        r = self.run_tool("mqtk-pub", "--json-lines", "-q", "1",
                          input=b'{"topic":"le/j","payload":"x\\r"}\r\n{"topic":"le/j","payload":"y"}')
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(sub), (0, b"780d\n79\n", b""))

    def test_nul_bytes_are_kept_byte_for_byte_in_raw_output(self):
        payload = b"\x00a\x00\xff\r\n\x00"
        # The default output, -v and -N as mosquitto_sub writes them.
        for args in ([], ["-v"], ["-N"]):
            with self.subTest(args=args):
                mine = self.received("nul/s", 1, *args)
                theirs = self.received("nul/s", 1, *args, tool_name=MOSQUITTO_SUB)
                r = self.run_tool("mqtk-pub", "-t", "nul/s", "-s", "-q", "1", input=payload)
                self.assertEqual((r.returncode, r.stderr), (0, b""))
                code, out, err = self.finish(theirs)
                self.assertEqual(code, 0, err)
                self.assertEqual(out, (b"nul/s " if args == ["-v"] else b"") + payload
                                 + (b"" if args == ["-N"] else b"\n"))
                self.assertEqual(self.finish(mine), (0, out, b""))
        # Every way in: -m cannot hold a NUL; -f, -l (mosquitto_pub -l would
        # cut the line at it) and --json-lines ("\u0000") can.
        path = os.path.join(tempfile.mkdtemp(prefix="mqtk-nul-"), "nul.bin")
        self.addCleanup(shutil.rmtree, os.path.dirname(path), True)
        with open(path, "wb") as f:
            f.write(payload)
        sub = self.received("nul/in", 3, "-N")
        for args, data in ((["-f", path], b""), (["-l"], b"a\x00b\n"), (["--json-lines"], b'{"payload":"\\u0000z"}\n')):
            r = self.run_tool("mqtk-pub", "-t", "nul/in", "-q", "1", *args, input=data)
            self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(sub), (0, payload + b"a\x00b" + b"\x00z", b""))

    def test_a_payload_over_the_brokers_limit(self):
        # mosquitto's message_size_limit: at MQTT 5 the PUBACK refuses it
        # (reason 149) and mqtk-pub exits 1 naming it, as for any PUBACK
        # refusal (README "Reason codes"; mosquitto_pub only warns and exits
        # 0); at 3.1.1 the broker acknowledges and drops it, which no client
        # can see: exit 0 for both. (With the fixture's max_queued_messages 0
        # mosquitto 2.0.11 also closes the connection right after that
        # PUBACK, and mqtk-pub then says "connection lost".)
        broker = self.extra_broker(extra_config="message_size_limit 100\nmax_queued_messages 1000")
        port = str(broker.port)
        big = "x" * 200
        r = self.run_tool("mqtk-pub", "-p", port, "-V", "5", "-q", "1", "-t", "lim", "-m", big, port=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr, f"mqtk-pub: publish on localhost:{port} failed: Packet too large "
                                   "(reason code 149)\n".encode())
        r = self.run_cmd([MOSQUITTO_PUB, "-p", port, "-V", "5", "-q", "1", "-t", "lim", "-m", big])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"Packet too large", r.stderr)
        # -l goes on with the next lines and exits 1 at the end.
        sub = self.spawn([tool("mqtk-sub"), "-p", port, "-i", "lim-sub", "-t", "lim", "-C", "2"])
        self.wait_subscribed(broker, "lim-sub", sub)
        lines = f"small1\n{big}\nsmall2\n".encode()
        r = self.run_tool("mqtk-pub", "-p", port, "-V", "5", "-q", "1", "-t", "lim", "-l", port=False, input=lines)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"Packet too large (reason code 149)", r.stderr)
        self.assertEqual(self.finish(sub), (0, b"small1\nsmall2\n", b""))
        for publisher in (tool("mqtk-pub"), MOSQUITTO_PUB):
            r = self.run_cmd([publisher, "-p", port, "-V", "311", "-q", "1", "-t", "lim", "-m", big])
            self.assertEqual((r.returncode, r.stderr), (0, b""))

    def test_line_mode_streams_before_eof(self):
        sub = self.spawn_sub("-t", "stream", "-v")
        pub = self.spawn([tool("mqtk-pub"), "-p", self.port, "-t", "stream", "-l"], stdin=subprocess.PIPE)
        pub.stdin.write(b"first\n")
        pub.stdin.flush()
        # The line must arrive while stdin is still open.
        wait_for(lambda: "Received PUBLISH from" in self.broker.log(), what="the first line to be published")
        pub.stdin.write(b"second")
        pub.stdin.close()
        self.assertEqual(pub.wait(timeout=30), 0)
        line = sub.stdout.readline()
        self.assertEqual(line, b"stream first\n")
        self.assertEqual(sub.stdout.readline(), b"stream second\n")
        sub.send_signal(signal.SIGINT)
        self.assertEqual(sub.wait(timeout=30), 0)

    def test_sigint_and_sigterm_exit_cleanly(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            with self.subTest(sig=sig):
                sub = self.spawn_sub("-t", "sig", "-v")
                self.run_tool("mqtk-pub", "-t", "sig", "-m", "before")
                self.assertEqual(sub.stdout.readline(), b"sig before\n")
                sub.send_signal(sig)
                rc, out, err = self.finish(sub)
                self.assertEqual((rc, err), (0, b""))
        wait_for(lambda: self.broker.log().count("disconnected.") >= 2, what="clean DISCONNECTs")

    def test_head_closes_pipe_quietly(self):
        sub = self.spawn([tool("mqtk-sub"), "-p", self.port, "-t", "h", "-i", "headsub"],
                         stdout=subprocess.PIPE)
        head = self.spawn(["head", "-n", "1"], stdin=sub.stdout)
        sub.stdout.close()
        wait_for(lambda: "Sending SUBACK to headsub" in self.broker.log(), what="subscription")
        # Publish until the subscriber notices the closed pipe.
        def gone():
            self.run_tool("mqtk-pub", "-t", "h", "-m", "line")
            return sub.poll() is not None
        wait_for(gone, what="mqtk-sub to stop after head exited")
        self.assertEqual(sub.returncode, 0)
        self.assertEqual(sub.stderr.read(), b"")
        self.assertEqual(head.stdout.read(), b"line\n")


if __name__ == "__main__":
    unittest.main()
