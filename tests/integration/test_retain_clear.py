"""mqtk-retain-clear against a real mosquitto: only what the filters select
is cleared, `$` topics never; --dry-run, --where, -T, --max, --backup and its
restore with mqtk-pub --json-lines; verification names what is not clear (an
ACL refusing the clears at MQTT 3.1.1 and 5, a topic retained again by
another client, made deterministic with a proxy that holds the tool's
packets); the confirmation prompt under a pseudo-terminal; 50 000 topics."""

import json
import os
import pty
import re
import select
import socket
import struct
import subprocess
import threading
import unittest

import itertools

from mqtk_testing import MOSQUITTO_PUB, MOSQUITTO_SUB, TIMEOUT, BrokerTestCase, free_port, tool, wait_for

_oracle_ids = itertools.count()

NOT_ALL_CLEARED = 2
NOT_CONFIRMED = 3


def jsonl(messages):
    """mqtk-pub --json-lines input retaining each (topic, payload bytes)."""
    lines = []
    for topic, payload in messages:
        try:
            text = payload.decode("utf-8")
            lines.append(json.dumps({"topic": topic, "payload": text, "retain": True}))
        except UnicodeDecodeError:
            import base64
            lines.append(json.dumps({"topic": topic, "payload_base64": base64.b64encode(payload).decode(),
                                     "retain": True}))
    return ("\n".join(lines) + "\n").encode()


class HoldingProxy:
    """A TCP proxy between a client and the broker that forwards everything,
    except that once the client has sent a PUBLISH to `topic` it holds the
    client's later packets until release() (the broker's side still flows)."""

    def __init__(self, broker_port, topic):
        self.broker_port = broker_port
        self.topic = topic.encode()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.holding = threading.Event()
        self.released = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def release(self):
        self.released.set()

    def close(self):
        self.released.set()
        self.listener.close()

    def _packets(self, buffer):
        """Splits complete MQTT packets off the front of `buffer`."""
        out = []
        while len(buffer) >= 2:
            length, multiplier, i = 0, 1, 1
            while True:
                if i >= len(buffer):
                    return out, buffer
                byte = buffer[i]
                length += (byte & 0x7F) * multiplier
                multiplier *= 128
                i += 1
                if not byte & 0x80:
                    break
            if len(buffer) < i + length:
                return out, buffer
            out.append(bytes(buffer[:i + length]))
            buffer = buffer[i + length:]
        return out, buffer

    def _is_publish_to_topic(self, packet):
        if packet[0] >> 4 != 3:
            return False
        i = 1
        while packet[i] & 0x80:
            i += 1
        i += 1
        (n,) = struct.unpack("!H", packet[i:i + 2])
        return packet[i + 2:i + 2 + n] == self.topic

    def _run(self):
        try:
            client, _ = self.listener.accept()
        except OSError:
            return
        broker = socket.create_connection(("127.0.0.1", self.broker_port))
        pending = b""
        held = []
        with client, broker:
            while True:
                if held and self.released.is_set():
                    broker.sendall(b"".join(held))
                    held = []
                readable, _, _ = select.select([client, broker], [], [], 0.05)
                if broker in readable:
                    data = broker.recv(65536)
                    if not data:
                        return
                    client.sendall(data)
                if client in readable:
                    data = client.recv(65536)
                    if not data:
                        return
                    packets, pending = self._packets(pending + data)
                    for p in packets:
                        if held or (self.holding.is_set() and not self.released.is_set()):
                            held.append(p)
                            continue
                        broker.sendall(p)
                        if self._is_publish_to_topic(p) and not self.released.is_set():
                            self.holding.set()


class RetainClearTest(BrokerTestCase):
    # Helpers -------------------------------------------------------------
    def retain(self, messages, broker=None, *extra):
        port = str((broker or self.broker).port)
        r = subprocess.run([tool("mqtk-pub"), "-p", port, "--json-lines", "-q", "1", *extra],
                           input=jsonl(messages), capture_output=True, timeout=TIMEOUT, cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))

    def retained_now(self, topic_filter="#", broker=None, user=None, marker_prefix="oracle-marker"):
        """{topic: payload} retained on the broker, read by mosquitto_sub:
        it subscribes to the filter and to a marker topic and, with
        --retained-only, ends at the marker, a live message published once
        it has its SUBACK (the broker delivers it after every retained one)."""
        broker = broker or self.broker
        client_id = f"oracle-{next(_oracle_ids)}-{os.getpid()}"
        marker = f"{marker_prefix}/{client_id}"
        login = ["-u", user] if user else []
        p = subprocess.Popen([MOSQUITTO_SUB, "-p", str(broker.port), *login, "-i", client_id, "-t", topic_filter,
                              "-t", marker, "--retained-only", "-F", "%x %t"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.procs.append(p)
        self.wait_subscribed(broker, client_id, p)
        pub = subprocess.run([MOSQUITTO_PUB, "-p", str(broker.port), *login, "-t", marker, "-m", "end"],
                             capture_output=True, timeout=TIMEOUT)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        out, err = p.communicate(timeout=TIMEOUT)
        self.assertEqual(p.returncode, 0, err)
        result = {}
        for line in out.decode().splitlines():
            hexed, _, topic = line.partition(" ")
            result[topic] = bytes.fromhex(hexed)
        return result

    def clear(self, *args, port=None, input=None):
        argv = [tool("mqtk-retain-clear"), "-p", str(port or self.port), *args]
        return subprocess.run(argv, input=input, capture_output=True, timeout=TIMEOUT, cwd=self.cwd,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def clears_in_log(self, broker=None):
        log = (broker or self.broker).log()
        return re.findall(r"Received PUBLISH from \S+ \(d\d, q1, r1, m\d+, '([^']*)', \.\.\. \(0 bytes\)\)", log)

    # Selection -------------------------------------------------------------
    def test_clears_only_what_the_filters_select(self):
        self.retain([("lab/a", b"1"), ("lab/b/c", b"2"), ("lab/keep/x", b"3"), ("other/d", b"4")])
        r = self.clear("-t", "lab/#", "-T", "lab/keep/#")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, b"")
        self.assertIn(b"cleared 2 retained messages (2 bytes) under 'lab/#'; verified: none left", r.stderr)
        self.assertEqual(self.retained_now(), {"lab/keep/x": b"3", "other/d": b"4"})
        self.assertEqual(sorted(self.clears_in_log()), ["lab/a", "lab/b/c"])

    def test_sys_topics_are_never_cleared(self):
        broker = self.extra_broker(extra_config="sys_interval 1")
        wait_for(lambda: "$SYS/broker/version" in self.retained_now("$SYS/broker/version", broker),
                 what="$SYS to be published")
        self.retain([("a", b"1")], broker)
        r = self.clear("-t", "#", "-j", port=broker.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([l["topic"] for l in lines if "topic" in l], ["a"])
        self.assertIn("$SYS/broker/version", self.retained_now("$SYS/#", broker))
        for filt, why in (("$SYS/#", "names topics beginning with '$'"),
                          ("$share/g/x", "is a shared subscription, which the broker sends no retained messages")):
            with self.subTest(filter=filt):
                r = self.clear("-t", filt, port=broker.port)
                self.assert_usage_error(r, f"'{filt}' {why}")

    def test_where_clears_only_matching_payloads(self):
        self.retain([("s/1", b'{"v":1}'), ("s/2", b'{"v":9}'), ("s/3", b"not json"), ("s/4", b'{"v":7}')])
        r = self.clear("-t", "s/#", "--where", ".v > 5", "-j")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual([(l["topic"], l["status"]) for l in lines[:-1]], [("s/2", "verified"), ("s/4", "verified")])
        self.assertEqual(lines[-1]["totals"]["matched"], 2)
        self.assertEqual(lines[-1]["totals"]["verified"], 2)
        self.assertEqual(self.retained_now(), {"s/1": b'{"v":1}', "s/3": b"not json"})

    def test_dry_run_changes_nothing(self):
        self.retain([("d/a", b"12345"), ("d/b", b"x")])
        r = self.clear("-t", "d/#", "--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["d/a\t5 bytes", "d/b\t1 bytes"])
        self.assertIn(b"would clear 2 retained messages (6 bytes) under 'd/#'; nothing changed (--dry-run)", r.stderr)
        r = self.clear("-t", "d/#", "--dry-run", "-j")
        lines = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual({l["topic"]: l["status"] for l in lines[:-1]}, {"d/a": "would_clear", "d/b": "would_clear"})
        self.assertEqual((lines[-1]["totals"]["matched"], lines[-1]["totals"]["dry_run"]), (2, True))
        self.assertEqual(self.clears_in_log(), [])
        self.assertEqual(len(self.retained_now()), 2)
        # With --backup, a dry run is a copy: the file is written, nothing cleared.
        copy = os.path.join(self.broker.dir, "copy.jsonl")
        r = self.clear("-t", "d/#", "--dry-run", "--backup", copy)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(copy, "rb") as f:
            self.assertEqual(sorted(json.loads(line)["topic"] for line in f), ["d/a", "d/b"])
        self.assertEqual(self.clears_in_log(), [])
        self.assertEqual(len(self.retained_now()), 2)

    def test_nothing_matched(self):
        r = self.clear("-t", "empty/#")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"no retained messages match 'empty/#'; nothing to clear", r.stderr)

    def test_max_refuses_before_clearing(self):
        self.retain([(f"m/{i}", b"x") for i in range(5)])
        r = self.clear("-t", "m/#", "--max", "4")
        self.assertEqual(r.returncode, NOT_CONFIRMED, r.stderr)
        self.assertIn(b"5 retained messages match 'm/#', more than --max 4; nothing was cleared", r.stderr)
        self.assertEqual(self.clears_in_log(), [])
        self.assertEqual(self.clear("-t", "m/#", "--max", "5").returncode, 0)

    def test_usage_errors_clear_nothing(self):
        self.retain([("u/a", b"1")])
        existing = os.path.join(self.broker.dir, "existing.jsonl")
        with open(existing, "w") as f:
            f.write("keep me\n")
        for args, needle in [([], "no topic filter given: use -t FILTER"),
                             (["-t", "u/#", "--where", ".v >"], "--where: "),
                             (["-t", "u/+x"], "'+' at position 3 must fill a whole level"),
                             (["-t", "u/#", "--backup", existing], "already exists"),
                             (["-t", "u/#", "--quiet-time", "1", "--marker-topic", "m"], "exclude each other")]:
            with self.subTest(args=args):
                self.assert_usage_error(self.clear(*args), needle)
        with open(existing) as f:
            self.assertEqual(f.read(), "keep me\n")
        self.assertEqual(self.clears_in_log(), [])
        self.assertEqual(self.retained_now(), {"u/a": b"1"})

    def test_backup_file_removed_when_the_run_fails_first(self):
        backup = os.path.join(self.broker.dir, "never.jsonl")
        r = self.clear("-t", "x/#", "--backup", backup, "--connect-timeout", "5", port=free_port())
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"cannot connect to", r.stderr)
        self.assertFalse(os.path.exists(backup), "an empty backup file was left behind")

    # Backup and restore ------------------------------------------------------
    def test_backup_then_restore_is_byte_identical(self):
        messages = [("b/json", b'{"a": [1, 2.50]}'), ("b/min", b'{"a":1}'), ("b/num", b"42"),
                    ("b/str", b'"quoted"'), ("b/text", b"caf\xc3\xa9\r\n"), ("b/bin", bytes(range(256))),
                    ("b/huge", b"1e400"), ("b/surrogate", b'{"a":"\\ud800"}'), ("b/nul", b"a\x00b"),
                    ("b/ws", b" 42"), ("b/neg0", b"-0")]
        self.retain(messages)
        backup = os.path.join(self.broker.dir, "backup.jsonl")
        r = self.clear("-t", "b/#", "--backup", backup)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.retained_now(), {})
        with open(backup, "rb") as f:
            lines = [json.loads(line) for line in f]
        self.assertEqual(sorted(l["topic"] for l in lines), sorted(t for t, _ in messages))
        for l in lines:
            self.assertIs(l["retain"], True)
            self.assertIn("tst", l)
        self.assertEqual(oct(os.stat(backup).st_mode & 0o777), "0o600")
        with open(backup, "rb") as f:
            r = subprocess.run([tool("mqtk-pub"), "-p", self.port, "--json-lines"], stdin=f,
                               capture_output=True, timeout=TIMEOUT, cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.retained_now(), dict(messages))

    # Verification ------------------------------------------------------------
    def test_acl_refusing_the_clears(self):
        acl = os.path.join(self.broker.dir, "acl")
        with open(acl, "w") as f:
            f.write("topic readwrite open/#\ntopic read locked/#\ntopic readwrite mqtk-retain-clear/#\n"
                    "user writer\ntopic readwrite #\n")
        # mosquitto 2.0.11 closes the connection of a client whose QoS 1
        # publish an ACL denies when max_queued_messages is 0 (the test
        # brokers' setting); its default, 1000, does not.
        broker = self.extra_broker(extra_config=f"acl_file {acl}\nmax_queued_messages 1000")
        for version, status, why in [("311", "not_cleared", "still holds the same message"),
                                     ("5", "refused", "the broker refused the clear (reason code 0x87 Not authorized)")]:
            with self.subTest(version=version):
                self.retain([("open/a", b"1"), ("locked/b", b"2"), ("locked/c", b"3")], broker, "-u", "writer")
                r = self.clear("-t", "#", "-V", version, "-j", port=broker.port)
                self.assertEqual(r.returncode, NOT_ALL_CLEARED, r.stderr)
                err = r.stderr.decode()
                self.assertIn(f"not clear: locked/b: {why}", err)
                self.assertIn(f"not clear: locked/c: {why}", err)
                self.assertIn("2 topics are not clear; 1 of 3 cleared and verified", err)
                lines = [json.loads(line) for line in r.stdout.splitlines()]
                self.assertEqual({l["topic"]: l["status"] for l in lines[:-1]},
                                 {"open/a": "verified", "locked/b": status, "locked/c": status})
                if version == "5":
                    self.assertEqual({l.get("reason_code") for l in lines[:-1] if l["topic"] != "open/a"}, {0x87})
                self.assertEqual(self.retained_now(broker=broker, user="writer"), {"locked/b": b"2", "locked/c": b"3"})

    def test_live_traffic_does_not_keep_the_listing_open(self):
        self.retain([("t/a", b"1"), ("t/b", b"2")])
        # A device publishing (not retained) under the filter all the time.
        feeder = self.spawn([tool("mqtk-pub"), "-p", self.port, "-t", "t/live", "-l"], stdin=subprocess.PIPE)
        stop = threading.Event()

        def feed():
            while not stop.is_set():
                try:
                    feeder.stdin.write(b"x\n")
                    feeder.stdin.flush()
                except (BrokenPipeError, ValueError):
                    return
                stop.wait(0.05)

        t = threading.Thread(target=feed, daemon=True)
        t.start()
        self.addCleanup(lambda: (stop.set(), t.join()))
        for args in (["--quiet-time", "1", "-j"], ["-j"]):
            with self.subTest(args=args):
                r = self.clear("-t", "t/#", "--dry-run", *args)
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = [json.loads(line) for line in r.stdout.splitlines()]
                self.assertEqual(sorted(l["topic"] for l in lines[:-1]), ["t/a", "t/b"])

    def test_marker_refused_says_what_to_do(self):
        acl = os.path.join(self.broker.dir, "acl")
        with open(acl, "w") as f:
            f.write("topic readwrite data/#\n")
        broker = self.extra_broker(extra_config=f"acl_file {acl}\nmax_queued_messages 1000")
        self.retain([("data/a", b"1")], broker)
        r = self.clear("-t", "data/#", "-V", "5", port=broker.port)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"the broker refused the end marker on 'mqtk-retain-clear/", r.stderr)
        self.assertIn(b"use --marker-topic", r.stderr)
        self.assertEqual(self.retained_now("data/#", broker=broker, marker_prefix="data/oracle"), {"data/a": b"1"})
        # Either way out works: a marker topic it may use, or --quiet-time.
        self.assertEqual(self.clear("-t", "data/#", "--dry-run", "--marker-topic", "data/marker",
                                    port=broker.port).returncode, 0)
        r = self.clear("-t", "data/#", "--quiet-time", "0.5", port=broker.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.retained_now("data/#", broker=broker, marker_prefix="data/oracle"), {})

    def test_verification_catches_a_topic_retained_again(self):
        self.retain([("v/a", b"1"), ("v/target", b"old"), ("v/z", b"3")])
        proxy = HoldingProxy(self.broker.port, "v/target")
        self.addCleanup(proxy.close)
        p = self.spawn([tool("mqtk-retain-clear"), "-p", str(proxy.port), "-i", "rc-held", "-t", "v/#", "-j"],
                       stdin=subprocess.DEVNULL)
        # The clear of v/target has reached the broker; nothing after it has.
        wait_for(proxy.holding.is_set, what="the clear of v/target")
        wait_for(lambda: "v/target" in self.clears_in_log(), what="the broker to take the clear")
        self.retain([("v/target", b"new"), ("v/late", b"4")])
        proxy.release()
        rc, out, err = self.finish(p)
        self.assertEqual(rc, NOT_ALL_CLEARED, err)
        self.assertIn(b"not clear: v/target: holds a new message: another client retained one during the run", err)
        # A topic that was not there when listed matches too: cleared in a second round.
        self.assertIn(b"1 of them first seen while verifying, and cleared then", err)
        lines = [json.loads(line) for line in out.splitlines()]
        self.assertEqual({l["topic"]: l["status"] for l in lines[:-1]},
                         {"v/a": "verified", "v/target": "retained_again", "v/z": "verified", "v/late": "verified"})
        self.assertEqual([l["topic"] for l in lines[:-1] if l.get("late")], ["v/late"])
        self.assertEqual(lines[-1]["totals"]["retained_again"], 1)
        self.assertEqual(lines[-1]["totals"]["late"], 1)
        self.assertEqual(self.retained_now("v/#"), {"v/target": b"new"})

    def test_timeout_bounds_a_full_window(self):
        # The proxy passes the first clear and holds everything after it, so
        # with -M 1 the third clear waits for a window that never opens.
        self.retain([("w/1", b"1"), ("w/2", b"2"), ("w/3", b"3"), ("w/4", b"4")])
        proxy = HoldingProxy(self.broker.port, "w/1")
        self.addCleanup(proxy.close)
        p = self.spawn([tool("mqtk-retain-clear"), "-p", str(proxy.port), "-t", "w/#", "-M", "1", "--timeout", "3"],
                       stdin=subprocess.DEVNULL)
        rc, _, err = self.finish(p)
        self.assertEqual(rc, 27, err)
        self.assertIn(b"timed out after 3 s (--timeout)", err)

    # Terminals ---------------------------------------------------------------
    def run_on_terminal(self, args, answer):
        """Runs the tool with stdin, stdout and stderr on a pseudo-terminal;
        answers the prompt with `answer`. Returns (exit code, everything
        the terminal showed)."""
        master, slave = pty.openpty()
        p = subprocess.Popen([tool("mqtk-retain-clear"), "-p", self.port, *args], stdin=slave, stdout=slave,
                             stderr=slave, cwd=self.cwd, close_fds=True)
        self.procs.append(p)
        os.close(slave)
        shown = b""
        closed = False

        def read_some():
            """Reads what the terminal shows so far; true once the prompt is
            shown or the tool has ended."""
            nonlocal shown, closed
            while not closed and select.select([master], [], [], 0.05)[0]:
                try:
                    data = os.read(master, 4096)
                except OSError:  # EIO: the tool has ended and closed the terminal
                    data = b""
                if not data:
                    closed = True
                shown += data
            return b"[y/N] " in shown or p.poll() is not None

        wait_for(read_some, what="the confirmation prompt")
        self.assertIn(b"[y/N] ", shown)
        os.write(master, answer)
        wait_for(lambda: read_some() and p.poll() is not None, what="the tool to end")
        p.wait()
        read_some()
        os.close(master)
        return p.returncode, shown

    def test_confirmation_prompt_on_a_terminal(self):
        self.retain([("p/a", b"1"), ("p/b", b"2")])
        rc, shown = self.run_on_terminal(["-t", "#"], b"n\n")
        self.assertEqual(rc, NOT_CONFIRMED, shown)
        self.assertIn(b"clear 2 retained messages (2 bytes) under '#'? [y/N] ", shown)
        self.assertIn(b"not confirmed; nothing was cleared", shown)
        self.assertEqual(self.clears_in_log(), [])
        rc, shown = self.run_on_terminal(["-t", "#"], b"y\n")
        self.assertEqual(rc, 0, shown)
        self.assertIn(b"verified: none left", shown)
        self.assertEqual(self.retained_now(), {})

    def test_no_prompt_without_a_terminal(self):
        self.retain([("np/a", b"1")])
        r = self.clear("-t", "#")  # stdin and stderr are not terminals
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"[y/N]", r.stderr)
        self.assertNotIn(b"\x1b", r.stderr)
        self.assertEqual(self.retained_now(), {})

    # Scale -------------------------------------------------------------------
    def test_fifty_thousand_topics(self):
        broker = self.broker
        count = 50000
        self.retain([(f"big/{i // 1000}/{i}", b"v%d" % i) for i in range(count)], broker)
        r = self.clear("-t", "big/#", "-j", port=broker.port)
        self.assertEqual(r.returncode, 0, r.stderr[-2000:])
        totals = json.loads(r.stdout.splitlines()[-1])["totals"]
        self.assertEqual((totals["matched"], totals["verified"]), (count, count))
        self.assertEqual(self.retained_now("big/#", broker), {})


if __name__ == "__main__":
    unittest.main()
