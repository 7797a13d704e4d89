"""mqtk-sub never hangs: publishing from the receive thread (--remove-retained
on many retained messages, alerts on a fast stream), output a reader does not
take (-W and SIGINT still end it), a second signal while --exec runs, -W and
--connect-timeout bounding the connect to a broker that never answers, and
--retained-only ending at a live message that -T filters out. Also -j and
%J on deeply nested JSON payloads.

Every test bounds its own run: a process that hangs is killed and the test
fails within seconds, never hanging the suite."""

import fcntl
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import termios
import threading
import time
import unittest

from mqtk_testing import MOSQUITTO_PUB, MOSQUITTO_SUB, BrokerTestCase, scaled, tool, wait_for

F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)  # named by Python 3.10+


def _mqtt_string(text):
    data = text.encode()
    return struct.pack("!H", len(data)) + data


def _mqtt_packet(first_byte, body):
    length, encoded = len(body), bytearray()
    while True:
        digit, length = length % 128, length // 128
        encoded.append(digit | (0x80 if length else 0))
        if not length:
            break
    return bytes([first_byte]) + bytes(encoded) + body


def publish_retained_raw(port, client_id, messages):
    """Publishes (topic, payload) pairs retained at QoS 0 from one MQTT 3.1.1
    connection, then disconnects: hundreds of retained topics in a few
    milliseconds (one mosquitto_pub per topic takes seconds)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        connect = _mqtt_string("MQTT") + bytes([4, 0x02]) + struct.pack("!H", 60) + _mqtt_string(client_id)
        s.sendall(_mqtt_packet(0x10, connect))
        connack = b""
        while len(connack) < 4:
            chunk = s.recv(4 - len(connack))
            if not chunk:
                raise AssertionError("the broker closed the connection before CONNACK")
            connack += chunk
        if connack != b"\x20\x02\x00\x00":
            raise AssertionError(f"unexpected CONNACK {connack!r}")
        s.sendall(b"".join(_mqtt_packet(0x31, _mqtt_string(t) + p) for t, p in messages) + b"\xe0\x00")


class NeverHangTest(BrokerTestCase):
    # Helpers -------------------------------------------------------------
    def start_sub(self, *args, name="mqtk-sub"):
        """Starts mqtk-sub (or mosquitto_sub) with its own client id and
        returns (process, client id) once the broker has sent the SUBACK."""
        client_id = f"nh-{len(self.procs)}-{os.getpid()}"
        program = tool("mqtk-sub") if name == "mqtk-sub" else name
        p = self.spawn([program, "-p", self.port, "-i", client_id] + list(args))
        self.wait_subscribed(self.broker, client_id, p)
        self.assert_running(p, f"{name} ended before subscribing")
        return p, client_id

    @staticmethod
    def stderr_so_far(p):
        """What `p` wrote on stderr until now, without waiting for the end
        (a child of `p` may keep the pipe open)."""
        os.set_blocking(p.stderr.fileno(), False)
        try:
            return p.stderr.read() or b""
        except BlockingIOError:
            return b""

    def assert_running(self, p, what):
        if p.poll() is not None:
            self.fail(f"{what} (exit {p.returncode}): {self.stderr_so_far(p)[-500:]!r}")

    def kill(self, p):
        if p.poll() is None:
            p.kill()
        p.wait()

    def wait_exit(self, p, limit, what):
        """Waits up to `limit` seconds for `p` to end without reading its
        output; kills it and fails the test if it is still running."""
        try:
            p.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            pass
        if p.poll() is None:
            self.kill(p)
            self.fail(f"{what} still running after {limit:.1f} s (killed)")
        return p.returncode

    def finish_within(self, p, limit, what, input=None):
        """Like finish(), but kills `p` and fails the test after `limit`
        seconds (on a plain build: scaled for the build under test)."""
        limit = scaled(limit)
        try:
            out, err = p.communicate(input=input, timeout=limit)
        except subprocess.TimeoutExpired:
            out = None
        if out is None:
            self.kill(p)
            _, err = p.communicate()
            self.fail(f"{what} still running after {limit:.1f} s (killed); stderr: {err[-500:]!r}")
        return p.returncode, out, err

    def run_within(self, argv, limit, what, input=None):
        """Runs a command to its end, failing the test if that takes more
        than `limit` seconds; returns (CompletedProcess, seconds taken)."""
        started = time.monotonic()
        p = self.spawn(argv, stdin=subprocess.PIPE if input is not None else None)
        rc, out, err = self.finish_within(p, limit, what, input=input)
        return subprocess.CompletedProcess(argv, rc, out, err), time.monotonic() - started

    def silent_listener(self):
        """A loopback port that accepts TCP connections and never answers;
        returns the port."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.05)
        held, stop = [], threading.Event()

        def accept():
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except socket.timeout:
                    continue
                except OSError:
                    return
                held.append(conn)  # held open, never read or written

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()

        def close():
            stop.set()
            thread.join(timeout=5)
            listener.close()
            for conn in held:
                conn.close()

        self.addCleanup(close)
        return listener.getsockname()[1]

    def wait_output_blocked(self, p, client_id, n):
        """Waits until the broker has sent `n` messages to `client_id` and
        p's stdout pipe (never read) holds at least half its capacity and
        has stopped growing: p cannot write more (or p ended)."""
        fd = p.stdout.fileno()
        capacity = fcntl.fcntl(fd, F_GETPIPE_SZ)
        history = []

        def blocked():
            if p.poll() is not None:
                return True
            waiting = struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]
            history.append((time.monotonic(), waiting))
            if waiting < capacity // 2 or self.broker.log().count(f"Sending PUBLISH to {client_id} ") < n:
                return False
            steady = [t for t, w in history if w == waiting]
            return steady and history[-1][0] - steady[0] >= 0.3

        wait_for(blocked, timeout=5, what=f"{client_id}'s stdout pipe to fill")

    def publish_burst(self, topic, n, size=2048):
        data = b"".join(b"%05d" % i + b"x" * (size - 5) + b"\n" for i in range(n))
        r, _ = self.run_within([tool("mqtk-pub"), "-p", self.port, "-t", topic, "-l"], 15, "mqtk-pub", input=data)
        self.assertEqual(r.returncode, 0, r.stderr)

    # 1. Clearing many retained messages ----------------------------------
    def test_remove_retained_many_messages(self):
        n = 300
        payloads = [f"value-{i}" for i in range(n)]
        publish_retained_raw(self.broker.port, "nh-retainer",
                             [(f"rt/{i}", p.encode()) for i, p in enumerate(payloads)])
        self.wait_gone(self.broker, "nh-retainer")
        probe, _ = self.run_within([MOSQUITTO_SUB, "-p", self.port, "-t", "rt/#", "-C", str(n), "-W", "10",
                                    "-F", "%r %p"], 15, "the probe subscriber")
        self.assertEqual(probe.returncode, 0, probe.stderr)
        self.assertEqual(sorted(probe.stdout.decode().splitlines()), sorted(f"1 {p}" for p in payloads))

        started = time.monotonic()
        p = self.spawn([tool("mqtk-sub"), "-p", self.port, "-i", "nh-remover", "-t", "rt/#", "--remove-retained",
                        "-W", "2"])
        rc, out, err = self.finish_within(p, 8, "mqtk-sub --remove-retained -W 2 with 300 retained messages")
        elapsed = time.monotonic() - started
        self.assertEqual(rc, 27, err)
        self.assertLess(elapsed, scaled(8))
        self.assertEqual(sorted(out.decode().splitlines()), sorted(payloads))
        self.wait_gone(self.broker, "nh-remover")
        left, _ = self.run_within([MOSQUITTO_SUB, "-p", self.port, "-t", "rt/#", "--retained-only", "-W", "1", "-v"],
                                  10, "the check for retained messages left")
        self.assertEqual((left.returncode, left.stdout), (27, b""), "retained messages left behind")

    def test_alert_and_clear_from_one_message(self):
        # One message raises a QoS 0 alert and a QoS 1 clear, queued back to
        # back: the alert's write must still be confirmed, or the final
        # flush waits for ever.
        publish_retained_raw(self.broker.port, "nh-retainer", [("rt/a", b'{"v":5}')])
        self.wait_gone(self.broker, "nh-retainer")
        alerts, _ = self.start_sub("-t", "al/x", "-C", "1", name=MOSQUITTO_SUB)
        p = self.spawn([tool("mqtk-sub"), "-p", self.port, "-t", "rt/a", "--remove-retained",
                        "--alert-topic", "al/x", "--alert-when", ".v > 1", "-C", "1"])
        rc, out, err = self.finish_within(p, 8, "mqtk-sub with an alert and a clear from one message")
        self.assertEqual((rc, out), (0, b'{"v":5}\n'), err)
        rc, out, err = self.finish_within(alerts, 8, "the alert subscriber")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["topic"], "rt/a")
        left, _ = self.run_within([MOSQUITTO_SUB, "-p", self.port, "-t", "rt/#", "--retained-only", "-W", "1", "-v"],
                                  10, "the check for retained messages left")
        self.assertEqual((left.returncode, left.stdout), (27, b""), "the retained message was not cleared")

    # 2. Alerts on a fast stream ------------------------------------------
    def test_alerts_on_fast_stream_none_lost(self):
        n = 50000
        # QoS 0 throughout, and nothing is lost: with the fixture's
        # max_queued_messages 0 mosquitto hands every QoS 0 message to a
        # connected client (db__ready_for_flight), however far behind it is.
        # QoS 1 would hold the stream to mosquitto's 20 messages in flight,
        # too slow to show today's hang reliably.
        # The alert counter is read by a thread as fast as it prints; its
        # sentinel topic comes after every alert once mqtk-sub is gone.
        counter, _ = self.start_sub("-t", "alerts/x", "-t", "nh/end", "-F", "%t", name=MOSQUITTO_SUB)
        alerts = {"count": 0, "other": []}
        ended = threading.Event()

        def count():
            for line in counter.stdout:
                if line == b"alerts/x\n":
                    alerts["count"] += 1
                elif line == b"nh/end\n":
                    ended.set()
                    return
                else:
                    alerts["other"].append(line)

        threading.Thread(target=count, daemon=True).start()

        sub, sub_id = self.start_sub("-t", "sensor/x", "--alert-topic", "alerts/x", "--alert-when", ". > 0", "-C",
                                     str(n), "-W", "60")
        received = bytearray()

        def read_output():
            for chunk in iter(lambda: sub.stdout.read1(65536), b""):
                received.extend(chunk)

        reader = threading.Thread(target=read_output, daemon=True)
        reader.start()
        # As fast as a stream gets, whatever the machine's load: mqtk-sub is
        # stopped while the whole stream reaches the broker, then takes it
        # all at once (each message raising an alert).
        sub.send_signal(signal.SIGSTOP)
        seq = self.spawn(["seq", "1", str(n)])
        pub = self.spawn([tool("mqtk-pub"), "-p", self.port, "-i", "nh-sensor", "-t", "sensor/x", "-l"],
                         stdin=seq.stdout)
        seq.stdout.close()
        rc = self.wait_exit(pub, 20, "seq 1 50000 | mqtk-pub -l")
        self.assertEqual(rc, 0, pub.stderr.read())
        self.wait_gone(self.broker, "nh-sensor")
        sub.send_signal(signal.SIGCONT)

        # A hang shows as output that stops growing: fail after 5 s without
        # progress (or 40 s in all), not only at the end of a long bound.
        started = last_change = time.monotonic()
        seen = 0
        while sub.poll() is None:
            time.sleep(0.05)
            now = time.monotonic()
            if len(received) != seen:
                seen, last_change = len(received), now
            if now - last_change > 5 or now - started > 40:
                self.kill(sub)
                lines = received.count(b"\n")
                self.fail(f"mqtk-sub with alerts stalled after {lines} of {n} lines "
                          f"({now - started:.1f} s; {alerts['count']} alerts received so far)")
        reader.join(timeout=10)
        err = sub.stderr.read()
        self.assertEqual(sub.returncode, 0, err)
        self.assertEqual(received.count(b"\n"), n)
        self.assertTrue(bytes(received) == "".join(f"{i}\n" for i in range(1, n + 1)).encode(),
                        "lines lost, changed or out of order")

        self.wait_gone(self.broker, sub_id)
        r, _ = self.run_within([MOSQUITTO_PUB, "-p", self.port, "-t", "nh/end", "-m", "end"], 10, "mosquitto_pub")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(ended.wait(timeout=15), f"the alert counter saw no sentinel ({alerts['count']} alerts)")
        self.assertEqual(alerts["other"], [])
        self.assertEqual(alerts["count"], n, "alerts lost or duplicated")

    # 3. Output nobody reads -------------------------------------------------
    def test_timeout_with_blocked_output(self):
        started = time.monotonic()
        sub, sub_id = self.start_sub("-t", "burst", "-W", "2")
        # 400 KB of output against a 64 KB pipe: mqtk-sub's writes block.
        self.publish_burst("burst", 200)
        self.wait_output_blocked(sub, sub_id, 200)
        rc = self.wait_exit(sub, max(0.0, started + 8 - time.monotonic()), "mqtk-sub -W 2 with a blocked stdout")
        elapsed = time.monotonic() - started
        self.assertEqual(rc, 27, sub.stderr.read())
        self.assertLess(elapsed, 2 + scaled(1.5))

    def test_sigint_with_blocked_output(self):
        sub, sub_id = self.start_sub("-t", "burst")
        self.publish_burst("burst", 200)
        self.wait_output_blocked(sub, sub_id, 200)
        self.assert_running(sub, "mqtk-sub ended before SIGINT")
        signalled = time.monotonic()
        sub.send_signal(signal.SIGINT)
        rc = self.wait_exit(sub, 6, "mqtk-sub after SIGINT with a blocked stdout")
        elapsed = time.monotonic() - signalled
        self.assertEqual(rc, 0, sub.stderr.read())
        self.assertLess(elapsed, scaled(1.5))

    def test_head_on_a_quiet_topic(self):
        # `mqtk-sub -t hh | head -n 3` with exactly three messages: head
        # exits after the third, and mqtk-sub notices the reader gone without
        # waiting for a fourth message to fail writing.
        sub_id = f"head-{os.getpid()}"
        sub = self.spawn([tool("mqtk-sub"), "-p", self.port, "-i", sub_id, "-t", "hh"])
        head = subprocess.Popen(["head", "-n", "3"], stdin=sub.stdout, stdout=subprocess.PIPE)
        sub.stdout.close()  # head holds the only read end now
        self.procs.append(head)
        wait_for(lambda: f"Sending SUBACK to {sub_id}" in self.broker.log() or sub.poll() is not None,
                 what="mqtk-sub to subscribe")
        for i in range(3):
            r = self.run_tool("mqtk-pub", "-t", "hh", "-m", f"m{i}")
            self.assertEqual(r.returncode, 0, r.stderr)
        out, _ = head.communicate(timeout=10)
        head_done = time.monotonic()
        self.assertEqual(out, b"m0\nm1\nm2\n")
        rc = self.wait_exit(sub, 10, "mqtk-sub after head exited")
        self.assertLess(time.monotonic() - head_done, scaled(1.0))
        self.assertEqual((rc, sub.stderr.read()), (0, b""))

    # 4. A second signal while --exec runs -----------------------------------
    def exec_children(self, pid):
        """(pid, start time) of each running `sleep` child of `pid`."""
        found = []
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return found
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    children = f.read().split()
            except OSError:
                continue
            for child in children:
                try:
                    with open(f"/proc/{child}/comm") as f:
                        comm = f.read().strip()
                    with open(f"/proc/{child}/stat") as f:
                        start = f.read().rsplit(")", 1)[1].split()[19]
                except OSError:
                    continue
                if comm == "sleep":
                    found.append((int(child), start))
        return found

    def kill_if_same(self, pid, start):
        """Kills a `sleep` this test started, if it is still that process."""
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[19] == start:
                    os.kill(pid, signal.SIGKILL)
        except (OSError, IndexError):
            pass

    @staticmethod
    def sigint_pending(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("ShdPnd:"):
                        return int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)) != 0
        except OSError:
            pass
        return False

    def test_second_sigint_while_exec_runs(self):
        sub, sub_id = self.start_sub("-t", "t", "--exec", "sleep", "8")
        for payload in ("one", "two"):
            r, _ = self.run_within([tool("mqtk-pub"), "-p", self.port, "-t", "t", "-m", payload], 10, "mqtk-pub")
            self.assertEqual(r.returncode, 0, r.stderr)
        wait_for(lambda: self.broker.log().count(f"Sending PUBLISH to {sub_id} ") >= 2 or sub.poll() is not None,
                 timeout=10, what="both messages to be sent to mqtk-sub")
        wait_for(lambda: self.exec_children(sub.pid) or sub.poll() is not None, timeout=10,
                 what="the first `sleep 8` to start")
        self.assert_running(sub, "mqtk-sub ended before the first SIGINT")
        for pid, start in self.exec_children(sub.pid):
            self.addCleanup(self.kill_if_same, pid, start)
        sub.send_signal(signal.SIGINT)
        # Two signals sent at once could merge into one: wait until the first
        # has been taken.
        wait_for(lambda: not self.sigint_pending(sub.pid) or sub.poll() is not None, timeout=5,
                 what="mqtk-sub to take the first SIGINT")
        self.assertIsNone(sub.poll(), "mqtk-sub ended at the first SIGINT while --exec was running")
        signalled = time.monotonic()
        sub.send_signal(signal.SIGINT)
        rc = self.wait_exit(sub, 6, "mqtk-sub after a second SIGINT")
        elapsed = time.monotonic() - signalled
        self.assertEqual(rc, 128 + signal.SIGINT, self.stderr_so_far(sub))
        self.assertLess(elapsed, scaled(1.5))

    # 5, 6. A listener that never answers ------------------------------------
    def test_timeout_bounds_connect(self):
        port = str(self.silent_listener())
        r, elapsed = self.run_within([tool("mqtk-sub"), "-h", "127.0.0.1", "-p", port, "-t", "x", "-W", "2"], 8,
                                     "mqtk-sub -W 2 against a silent listener")
        err = r.stderr.decode(errors="replace")
        self.assertEqual(r.returncode, 27, err)
        self.assertLess(elapsed, 2 + scaled(1.5))
        self.assertIn("timed out", err.lower())
        self.assertIn("connect", err.lower())
        self.assertEqual(r.stdout, b"")

    def test_connect_timeout_against_silent_listener(self):
        port = str(self.silent_listener())
        for name, args in (("mqtk-sub", ["-t", "x"]), ("mqtk-pub", ["-t", "x", "-m", "y"])):
            with self.subTest(name=name):
                r, elapsed = self.run_within([tool(name), "-h", "127.0.0.1", "-p", port, *args,
                                              "--connect-timeout", "1"], 8, f"{name} --connect-timeout 1")
                err = r.stderr.decode(errors="replace")
                self.assertEqual(r.returncode, 1, err)
                self.assertLess(elapsed, 1 + scaled(1.5))
                self.assertTrue("timed out" in err.lower() or "timeout" in err.lower(), err)
                self.assertNotIn("closed the connection", err)
                self.assertEqual(r.stdout, b"")

    # 7. --retained-only ends at a live message even if -T drops it --------
    def test_retained_only_ends_at_filtered_live_message(self):
        r, _ = self.run_within([tool("mqtk-pub"), "-p", self.port, "-t", "ro/a", "-m", "kept", "-r", "-q", "1"], 10,
                               "mqtk-pub")
        self.assertEqual(r.returncode, 0, r.stderr)
        args = ("-t", "ro/#", "-T", "ro/skip", "--retained-only", "-v")
        mine, _ = self.start_sub(*args)
        theirs, _ = self.start_sub(*args, name=MOSQUITTO_SUB)
        r, _ = self.run_within([tool("mqtk-pub"), "-p", self.port, "-t", "ro/skip", "-m", "live"], 10, "mqtk-pub")
        self.assertEqual(r.returncode, 0, r.stderr)
        published = time.monotonic()
        # mosquitto_sub checks --retained-only before -T.
        self.assertEqual(self.finish_within(theirs, 6, "mosquitto_sub --retained-only")[:2], (0, b"ro/a kept\n"))
        rc, out, err = self.finish_within(mine, max(0.0, published + 6 - time.monotonic()),
                                          "mqtk-sub --retained-only after a live message on a -T topic")
        self.assertLess(time.monotonic() - published, scaled(1.5))
        self.assertEqual((rc, out, err), (0, b"ro/a kept\n", b""))

    # 8. Deeply nested JSON payloads ---------------------------------------
    def test_deeply_nested_json_payload(self):
        for depth in (600, 1000):
            nested = b"[" * depth + b"]" * depth
            for fmt in (["-j"], ["-F", "%J"]):
                with self.subTest(depth=depth, format=fmt):
                    sub, _ = self.start_sub("-t", "deep", "-C", "1", *fmt)
                    r, _ = self.run_within([tool("mqtk-pub"), "-p", self.port, "-t", "deep", "-s"], 10, "mqtk-pub",
                                           input=nested)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    rc, out, err = self.finish_within(sub, 10, "mqtk-sub -C 1")
                    self.assertEqual((rc, err), (0, b""))
                    self.assertNotIn(b"payload_base64", out)
                    self.assertTrue(out.endswith(b',"payload":' + nested + b"}\n"),
                                    f"payload not printed as JSON: {out[:150]!r}...{out[-40:]!r}")
                    limit = sys.getrecursionlimit()
                    sys.setrecursionlimit(max(limit, 10 * depth))
                    try:
                        obj = json.loads(out)
                    finally:
                        sys.setrecursionlimit(limit)
                    value = obj["payload"]
                    for _ in range(depth - 1):
                        self.assertEqual(len(value), 1)
                        value = value[0]
                    self.assertEqual(value, [])


if __name__ == "__main__":
    unittest.main()
