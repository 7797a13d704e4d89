"""mqtk-sys-monitor against a real mosquitto with `sys_interval 1` (which
mosquitto 2.0.11 turns into an update every ~2 s): snapshot values equal a raw
$SYS subscription taken at the same time; rates agree with the counters and
with known traffic; a broker restarted on the same port (the tool reconnects)
resets rates without negatives; staleness of a frozen broker
(SIGSTOP); the JSON schema; the Prometheus text (promtool and a parser written
to the format) from --once, --output (replaced atomically) and --listen; the
Nagios statuses; warnings and alerts once per false-to-true turn; the live
view under tmux (draws, follows a resize, quits on q, Ctrl-C and SIGTERM, and
leaves the terminal restored); usage errors before connecting."""

import http.client
import itertools
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import unittest

from mqtk_testing import MOSQUITTO, MOSQUITTO_SUB, TIMEOUT, BrokerTestCase, Tmux, free_port, tool, wait_for

PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
SYS = "sys_interval 1"
VERSION = "mosquitto version 2.0.11"
COUNTER_RATES = ["clients_expired_per_s", "messages_received_per_s", "messages_sent_per_s", "publish_received_per_s",
                 "publish_sent_per_s", "publish_dropped_per_s", "publish_bytes_received_per_s",
                 "publish_bytes_sent_per_s", "bytes_received_per_s", "bytes_sent_per_s"]
# The counter behind each rate, as (group, member) in the snapshot.
RATE_COUNTERS = {"clients_expired_per_s": ("clients", "expired"),
                 "messages_received_per_s": ("messages", "received"), "messages_sent_per_s": ("messages", "sent"),
                 "publish_received_per_s": ("publish", "received"), "publish_sent_per_s": ("publish", "sent"),
                 "publish_dropped_per_s": ("publish", "dropped"),
                 "publish_bytes_received_per_s": ("publish", "bytes_received"),
                 "publish_bytes_sent_per_s": ("publish", "bytes_sent"),
                 "bytes_received_per_s": ("bytes", "received"), "bytes_sent_per_s": ("bytes", "sent")}
_ids = itertools.count()


# What mosquitto publishes, mapped to the documented snapshot by hand (not by
# the tool's own table): $SYS/broker/<topic> -> (group, member).
SYS_TOPICS = {
    "clients/connected": ("clients", "connected"), "clients/disconnected": ("clients", "disconnected"),
    "clients/total": ("clients", "total"), "clients/maximum": ("clients", "maximum"),
    "clients/expired": ("clients", "expired"),
    "subscriptions/count": ("subscriptions", "count"), "shared_subscriptions/count": ("subscriptions", "shared"),
    "retained messages/count": ("retained", "messages"),
    "store/messages/count": ("store", "messages"), "store/messages/bytes": ("store", "bytes"),
    "messages/received": ("messages", "received"), "messages/sent": ("messages", "sent"),
    "publish/messages/received": ("publish", "received"), "publish/messages/sent": ("publish", "sent"),
    "publish/messages/dropped": ("publish", "dropped"),
    "publish/bytes/received": ("publish", "bytes_received"), "publish/bytes/sent": ("publish", "bytes_sent"),
    "bytes/received": ("bytes", "received"), "bytes/sent": ("bytes", "sent"),
    "heap/current": ("heap", "current_bytes"), "heap/maximum": ("heap", "maximum_bytes"),
}
COMPARED_GROUPS = sorted({g for g, _ in SYS_TOPICS.values()} | {"load", "other"})


def number(text):
    text = text.strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else float(text)


def expected_snapshot(state):
    """The snapshot members a $SYS state {topic: payload} determines."""
    out = {"broker": {}}
    for topic, payload in state.items():
        key = topic[len("$SYS/broker/"):] if topic.startswith("$SYS/broker/") else None
        if key == "version":
            out["broker"]["version"] = payload
        elif key == "uptime":
            out["broker"]["uptime_seconds"] = number(payload.split()[0])
        elif key in SYS_TOPICS:
            group, member = SYS_TOPICS[key]
            out.setdefault(group, {})[member] = number(payload)
        elif key and (m := re.fullmatch(r"load/(.+)/(1min|5min|15min)", key)):
            out.setdefault("load", {}).setdefault(m.group(1).replace("/", "_"), {})[m.group(2)] = number(payload)
        else:
            out.setdefault("other", {})[topic] = payload
    return out


def comparable(snapshot):
    out = {"broker": {k: snapshot["broker"][k] for k in ("version", "uptime_seconds") if k in snapshot["broker"]}}
    for group in COMPARED_GROUPS:
        if group in snapshot:
            out[group] = snapshot[group]
    return out


# The documented JSON schema (lib/mqtk/sys/snapshot.hpp), checked by hand.
def _int(v):
    """A gauge: an integer as the broker published it (mosquitto 2.0.11 can
    publish clients/disconnected -1 around a reconnect)."""
    return isinstance(v, int) and not isinstance(v, bool)


def _count(v):
    """A counter: an integer, never negative."""
    return _int(v) and v >= 0


def _num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


SCHEMA = {
    "broker": {"version": lambda v: isinstance(v, str) and v != "", "uptime_seconds": _num,
               "up": lambda v: isinstance(v, bool), "stale": lambda v: isinstance(v, bool),
               "interval_seconds": lambda v: _num(v) and v > 0, "seconds_since_update": lambda v: _num(v) and v >= 0,
               "restarts": _count},
    "clients": {"connected": _int, "disconnected": _int, "total": _int, "maximum": _int, "expired": _count},
    "subscriptions": dict.fromkeys(["count", "shared"], _int),
    "retained": {"messages": _int},
    "store": dict.fromkeys(["messages", "bytes"], _int),
    "messages": dict.fromkeys(["received", "sent"], _count),
    "publish": dict.fromkeys(["received", "sent", "dropped", "bytes_received", "bytes_sent"], _count),
    "bytes": dict.fromkeys(["received", "sent"], _count),
    "heap": dict.fromkeys(["current_bytes", "maximum_bytes"], _int),
    "rates": dict.fromkeys(COUNTER_RATES, lambda v: v is None or (_num(v) and v >= 0)),
}
REQUIRED = {"broker": ["up", "stale", "restarts"], "rates": COUNTER_RATES}


def schema_problems(j, with_status=False):
    """What is wrong with snapshot `j` under the documented schema."""
    problems = []
    allowed = set(SCHEMA) | {"load", "bridges", "other", "other_dropped"} | ({"status"} if with_status else set())
    for key in j:
        if key not in allowed:
            problems.append(f"unknown member {key!r}")
    for group, members in SCHEMA.items():
        if group not in j:
            if group in REQUIRED:
                problems.append(f"missing {group}")
            continue
        if not isinstance(j[group], dict):
            problems.append(f"{group} is not an object")
            continue
        for name, value in j[group].items():
            if name not in members:
                problems.append(f"unknown member {group}.{name}")
            elif not members[name](value):
                problems.append(f"{group}.{name} = {value!r} has the wrong type or range")
        for name in REQUIRED.get(group, []):
            if name not in j[group]:
                problems.append(f"missing {group}.{name}")
    for name, windows in j.get("load", {}).items():
        if not isinstance(windows, dict) or not windows or set(windows) - {"1min", "5min", "15min"} or not all(
                _num(v) for v in windows.values()):
            problems.append(f"load.{name} = {windows!r}")
    for name, bridge in j.get("bridges", {}).items():
        if bridge.keys() != {"connected"} or not isinstance(bridge["connected"], bool):
            problems.append(f"bridges.{name} = {bridge!r}")
    for topic, text in j.get("other", {}).items():
        if not topic.startswith("$SYS/") or not isinstance(text, str):
            problems.append(f"other[{topic!r}] = {text!r}")
    if "other_dropped" in j and not _count(j["other_dropped"]):
        problems.append("other_dropped")
    if with_status and j.get("status") not in (0, 1, 2, 3):
        problems.append(f"status = {j.get('status')!r}")
    return problems


# The Prometheus text exposition format, version 0.0.4.
SAMPLE = re.compile(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\["\\n])*",?)*\})? (\S+)')
COMMENT = re.compile(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)")


def exposition_problems(text):
    """What is wrong with `text` as mqtk-sys-monitor's exposition: the format's
    grammar, # HELP and # TYPE once before a family's samples, samples of a
    family together, one prefix, _total on counters (and only on them)."""
    problems = []
    if not text.endswith("\n"):
        problems.append("does not end with a newline")
    helps, types, seen, done = set(), {}, set(), set()
    current = None
    for n, line in enumerate(text.splitlines(), 1):
        if m := COMMENT.fullmatch(line):
            kind, name, rest = m.groups()
            if not name.startswith("mqtt_broker_"):
                problems.append(f"line {n}: {name} lacks the mqtt_broker_ prefix")
            if name in seen:
                problems.append(f"line {n}: # {kind} {name} after its samples")
            if kind == "HELP":
                if name in helps:
                    problems.append(f"line {n}: a second # HELP {name}")
                helps.add(name)
            else:
                if name in types:
                    problems.append(f"line {n}: a second # TYPE {name}")
                if rest not in ("gauge", "counter"):
                    problems.append(f"line {n}: type {rest}")
                types[name] = rest
            continue
        m = SAMPLE.fullmatch(line)
        if not m:
            problems.append(f"line {n}: not a sample: {line!r}")
            continue
        name, _, value = m.groups()
        try:
            float(value)
        except ValueError:
            problems.append(f"line {n}: value {value!r}")
        if name not in helps or name not in types:
            problems.append(f"line {n}: sample of {name} without # HELP and # TYPE before it")
        if name != current:
            if name in done:
                problems.append(f"line {n}: samples of {name} are not together")
            if current:
                done.add(current)
            current = name
        seen.add(name)
        if types.get(name) == "counter" and not name.endswith("_total"):
            problems.append(f"line {n}: counter {name} without _total")
        if types.get(name) == "gauge" and name.endswith("_total"):
            problems.append(f"line {n}: gauge {name} ends with _total")
    return problems


def samples(text):
    """{name or name{labels}: value} of an exposition."""
    out = {}
    for line in text.splitlines():
        if m := SAMPLE.fullmatch(line):
            out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return out


def promtool(text):
    r = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=TIMEOUT)
    return r.returncode, (r.stdout + r.stderr).decode(errors="replace")


def listeners(port):
    """The local addresses listening on TCP `port` (/proc/net/tcp, tcp6)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.read().splitlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    found.append(local)
    return found


def http_get(port, path):
    """(status, content type, body) of GET http://127.0.0.1:port/path."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.getheader("Content-Type"), r.read().decode(errors="replace")
    finally:
        c.close()


def scrape(port):
    try:
        return http_get(port, "/metrics")[2]
    except OSError:
        return ""


class Lines:
    """Collects a process's output lines in the background (so never
    communicate() with that process: see SysMonitorTest.stop)."""

    def __init__(self, stream):
        self.lines = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for line in stream:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def json(self):
        return [json.loads(l) for l in list(self.lines)]

    def join(self):
        self._thread.join(timeout=TIMEOUT)


class RawSys:
    """mosquitto_sub -t '$SYS/#' alongside the tool: every (topic, payload)
    the broker sent it, in order."""

    def __init__(self, case, broker):
        self.client_id = f"raw-sys-{next(_ids)}-{os.getpid()}"
        self.proc = case.spawn([MOSQUITTO_SUB, "-p", str(broker.port), "-i", self.client_id, "-t", "$SYS/#",
                                "-F", "%t\t%p"])
        self.messages = []
        threading.Thread(target=self._read, daemon=True).start()
        case.wait_subscribed(broker, self.client_id, self.proc)

    def _read(self):
        for line in self.proc.stdout:
            topic, _, payload = line.decode(errors="replace").rstrip("\n").partition("\t")
            self.messages.append((topic, payload))

    def round_states(self, uptime):
        """The $SYS state after each message of the round whose uptime is
        `uptime` (from its uptime message to the next uptime)."""
        state, states, inside = {}, [], False
        for topic, payload in list(self.messages):
            if topic == "$SYS/broker/uptime":
                u = number(payload.split()[0])
                if inside and u != uptime:
                    break
                inside = inside or u == uptime
            state[topic] = payload
            if inside:
                states.append(dict(state))
        return states


def restart_on_same_port(broker):
    """Stops `broker`'s mosquitto and starts it again with the same
    configuration, on the same port."""
    broker.stop()
    if broker.proc.stderr:
        broker.proc.stderr.close()
    conf = os.path.join(broker.dir, "mosquitto.conf")
    for _attempt in range(5):
        broker.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: broker._accepts() or broker.proc.poll() is not None, what="mosquitto to listen again")
        if broker.proc.poll() is None:
            return
    raise AssertionError("mosquitto did not start again on its port:\n" + broker.log())


class SysMonitorTest(BrokerTestCase):
    broker_options = {"extra_config": SYS}

    # Helpers -------------------------------------------------------------
    def monitor(self, *args, port=None):
        """Starts mqtk-sys-monitor in the background; its stdout and stderr
        lines are collected in p.out and p.err."""
        argv = [tool("mqtk-sys-monitor"), "-p", str(port or self.port), *args]
        p = self.spawn(argv, stdin=subprocess.DEVNULL)
        p.out, p.err = Lines(p.stdout), Lines(p.stderr)
        return p

    def once(self, *args, port=None):
        return subprocess.run([tool("mqtk-sys-monitor"), "-p", str(port or self.port), "--once", *args],
                              stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT + 30, cwd=self.cwd)

    def stop(self, p, sig=signal.SIGTERM):
        """Ends a watching tool (from monitor()) with a signal: exit 0.
        Returns its stdout and stderr lines."""
        p.send_signal(sig)
        rc = p.wait(timeout=TIMEOUT)
        p.out.join()
        p.err.join()
        self.assertEqual(rc, 0, p.err.lines)
        return p.out.lines, p.err.lines

    def publish_lines(self, count, topic="traffic/test", port=None):
        lines = "".join(f"message {i}\n" for i in range(count)).encode()
        r = subprocess.run([tool("mqtk-pub"), "-p", str(port or self.port), "-t", topic, "-l"], input=lines,
                           capture_output=True, timeout=TIMEOUT, cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))

    def tempdir(self):
        d = tempfile.mkdtemp(prefix="mqtk-sysmon-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        return d

    def assert_no_negative_rates(self, snapshots):
        for i, j in enumerate(snapshots):
            for name, value in j["rates"].items():
                self.assertTrue(value is None or value >= 0, f"line {i}: rates.{name} = {value}")

    def assert_rates_match_counters(self, snapshots):
        """Each rate is (counter now - counter a round ago) / (uptime now -
        uptime a round ago), the broker's uptime as the time base. A round
        printed twice (a late message after its quiet) counts with its last
        line."""
        by_uptime = {}
        for j in snapshots:
            by_uptime[j["broker"]["uptime_seconds"]] = j
        rounds = [by_uptime[u] for u in sorted(by_uptime)]
        checked = 0
        for before, after in zip(rounds, rounds[1:]):
            dt = after["broker"]["uptime_seconds"] - before["broker"]["uptime_seconds"]
            for rate, (group, member) in RATE_COUNTERS.items():
                if after["rates"][rate] is None:
                    continue
                expected = (after[group][member] - before[group][member]) / dt
                self.assertAlmostEqual(after["rates"][rate], expected, delta=0.0011,
                                       msg=f"{rate} between uptimes {before['broker']['uptime_seconds']} and "
                                           f"{after['broker']['uptime_seconds']}")
                checked += 1
        self.assertGreater(checked, 0, "no rate to check")
        return rounds

    # 1. Values equal what the broker published ----------------------------
    def test_snapshot_equals_what_the_broker_published(self):
        retained = 7
        r = subprocess.run([tool("mqtk-pub"), "-p", self.port, "--json-lines"], capture_output=True, timeout=TIMEOUT,
                           input="".join(json.dumps({"topic": f"kept/{i}", "payload": str(i), "retain": True}) + "\n"
                                         for i in range(retained)).encode(), cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        raw = RawSys(self, self.broker)
        r = self.once("-j")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        lines = r.stdout.decode().splitlines()
        self.assertEqual(len(lines), 1, r.stdout)
        snap = json.loads(lines[0])
        self.assertEqual(schema_problems(snap, with_status=True), [])
        self.assertEqual(snap["status"], 0)
        self.assertEqual(snap["broker"]["version"], VERSION)
        self.assertIs(snap["broker"]["up"], True)
        self.assertIs(snap["broker"]["stale"], False)
        self.assertEqual(snap["broker"]["restarts"], 0)
        self.assertGreaterEqual(snap["retained"]["messages"], retained)
        # The snapshot is the $SYS state of one round the raw subscriber saw
        # too (the same messages in the same order): equal, member by member.
        uptime = snap["broker"]["uptime_seconds"]
        actual = comparable(snap)
        states = []

        def matched():
            states[:] = raw.round_states(uptime)
            return any(expected_snapshot(s) == actual for s in states)

        try:
            wait_for(matched, timeout=10, what="the raw subscription to see the same round")
        except AssertionError:
            self.assertTrue(states, f"the raw subscription saw no round with uptime {uptime}: {raw.messages[-5:]}")
            self.assertEqual(actual, expected_snapshot(states[-1]))
        # Each of the documented groups came from the broker here.
        for group in COMPARED_GROUPS:
            self.assertIn(group, snap, f"mosquitto publishes {group}")

    # 2. Rates --------------------------------------------------------------
    def test_rates_reflect_known_traffic(self):
        p = self.monitor("-j")
        out = p.out
        first = wait_for(lambda: next((j for j in out.json() if j["rates"]["publish_received_per_s"] is not None),
                                      None), what="a round with rates")
        start = len(out.lines)
        base = first["publish"]["received"]
        sent = 250
        self.publish_lines(sent)
        # The round that counts them, then one without traffic.
        wait_for(lambda: any(j["publish"]["received"] >= base + sent for j in out.json()[start:]),
                 what="the counter to show the messages")
        counted = out.json()[-1]["broker"]["uptime_seconds"]
        wait_for(lambda: out.json()[-1]["broker"]["uptime_seconds"] > counted, what="a round after the traffic")
        _, err = self.stop(p)
        self.assertEqual(err, [])
        snapshots = out.json()
        for j in snapshots:
            self.assertEqual(schema_problems(j), [])
        self.assert_no_negative_rates(snapshots)
        rounds = self.assert_rates_match_counters(snapshots)
        self.assertEqual(rounds[-1]["publish"]["received"] - base, sent, "mqtk-pub's messages, and only them")
        # rate × seconds over the rounds that carried the traffic adds up to N.
        uptimes = [j["broker"]["uptime_seconds"] for j in rounds]
        start_at = uptimes.index(first["broker"]["uptime_seconds"])
        after_first = rounds[start_at + 1:]
        total = sum(j["rates"]["publish_received_per_s"]
                    * (j["broker"]["uptime_seconds"] - prev["broker"]["uptime_seconds"])
                    for prev, j in zip(rounds[start_at:], after_first))
        self.assertAlmostEqual(total, sent, delta=0.01 * len(after_first))
        peak = max(j["rates"]["publish_received_per_s"] for j in after_first)
        self.assertGreater(peak, 0)
        self.assertLessEqual(peak, sent)
        self.assertEqual(rounds[-1]["rates"]["publish_received_per_s"], 0, "no traffic in the last round")

    # 3. Restart ------------------------------------------------------------
    def test_broker_restart_resets_rates_without_negatives(self):
        listen = free_port()
        p = self.monitor("-j", "--listen", str(listen))
        out = p.out
        # Rates, and an uptime the restarted broker cannot reach in the time
        # it takes to restart and reconnect (1 s after the loss).
        wait_for(lambda: any(j["rates"]["messages_sent_per_s"] is not None and j["broker"]["uptime_seconds"] >= 8
                             for j in out.json()), what="rates and an uptime of 8 s")
        self.publish_lines(100)
        wait_for(lambda: out.json()[-1]["publish"]["received"] >= 100, what="the traffic counted")
        before = len(out.lines)
        old = out.json()[-1]
        self.broker.stop()
        with self.subTest("/metrics says down while the broker is"):
            wait_for(lambda: "\nmqtt_broker_up 0\n" in scrape(listen), what="mqtt_broker_up 0 while down")
        restart_on_same_port(self.broker)
        wait_for(lambda: any(j["broker"]["restarts"] == 1 and j["rates"]["messages_sent_per_s"] is not None
                             for j in out.json()), what="the restart seen and rates again")
        wait_for(lambda: "\nmqtt_broker_up 1\n" in scrape(listen), what="mqtt_broker_up 1 again")
        self.assertEqual(samples(scrape(listen)).get("mqtt_broker_restarts_seen_total"), 1)
        _, err = self.stop(p)
        self.assertEqual(len(err), 2, err)
        self.assertRegex(err[0], rf"^mqtk-sys-monitor: lost the connection to localhost:{self.port} \(.+\); "
                                 r"reconnecting$")
        self.assertEqual(err[1], f"mqtk-sys-monitor: connected to localhost:{self.port} again")
        snapshots = out.json()
        for j in snapshots:
            self.assertEqual(schema_problems(j), [])
        self.assert_no_negative_rates(snapshots)
        with self.subTest("the loss reported at once: one line saying down"):
            down = [i for i, j in enumerate(snapshots) if i >= before and not j["broker"]["up"]]
            self.assertEqual(len(down), 1, [j["broker"] for j in snapshots[before:]])
            line, last = snapshots[down[0]], snapshots[down[0] - 1]
            self.assertEqual((line["broker"]["restarts"], line["broker"]["stale"]), (0, False))
            self.assertEqual(line["broker"]["uptime_seconds"], last["broker"]["uptime_seconds"], "the last values")
        restarts = [j["broker"]["restarts"] for j in snapshots]
        self.assertEqual(restarts, sorted(restarts))
        self.assertEqual(restarts[:before], [0] * before)
        self.assertEqual(restarts[-1], 1, "one restart, counted once")
        first_after = next(j for j in snapshots if j["broker"]["restarts"] == 1)
        self.assertLess(first_after["broker"]["uptime_seconds"], old["broker"]["uptime_seconds"])
        self.assertEqual(first_after["rates"], dict.fromkeys(COUNTER_RATES), "rates start again after a restart")
        # Rates after the restart come from the new broker's counters alone.
        after = [j for j in snapshots if j["broker"]["restarts"] == 1]
        self.assert_rates_match_counters(after)
        with self.subTest("no line mixes the old broker's values with the new one's"):
            for a, b in zip(after, after[1:]):
                for group, member in RATE_COUNTERS.values():
                    self.assertLessEqual(a[group][member], b[group][member],
                                         f"{group}.{member} went down between two lines after the restart: "
                                         f"{a['broker']} {a[group]} -> {b['broker']} {b[group]}")
            self.assertLess(after[-1]["publish"]["received"], 100)

    # 4. Staleness ----------------------------------------------------------
    def test_frozen_broker_goes_stale(self):
        tmux = Tmux(self)
        tmux.new("live", f"{shlex.quote(tool('mqtk-sys-monitor'))} -p {self.port}; echo EXIT=$?; sleep 60")
        listen = free_port()
        p = self.monitor("--listen", str(listen), "-j")
        tmux.wait_screen("live", lambda s: s[0].rstrip().endswith(" live") and "updates every" in s[1],
                         what="the live view to show the broker live")
        wait_for(lambda: "\nmqtt_broker_up 1\n" in scrape(listen), what="/metrics to show the broker up")
        wait_for(lambda: any("interval_seconds" in j["broker"] for j in p.out.json()), what="an interval learnt")
        frozen_line = len(p.out.lines)
        os.kill(self.broker.proc.pid, signal.SIGSTOP)
        try:
            frozen_at = time.monotonic()
            with self.subTest("live view"):
                screen = tmux.wait_screen("live", lambda s: s if s[0].rstrip().endswith(" STALE") else None,
                                          what="STALE in the live view")
                # 2.5 intervals (2 s) after the last update, not before.
                self.assertGreaterEqual(time.monotonic() - frozen_at, 2.5)
                self.assertRegex(screen[1], r"last update \d+s ago")
            with self.subTest("/metrics"):
                # The broker has been frozen for longer than the stale limit:
                # /metrics must not go on saying it is up.
                try:
                    wait_for(lambda: "\nmqtt_broker_up 0\n" in scrape(listen), timeout=4,
                             what="mqtt_broker_up 0 on /metrics")
                except AssertionError:
                    self.fail("a frozen broker still scrapes as up (mqtt_broker_up 1, the last round's values) "
                              "after the live view showed STALE:\n" + scrape(listen)[:400])
            with self.subTest("-j"):
                stale = wait_for(lambda: next((j for j in p.out.json()[frozen_line:] if j["broker"]["stale"]), None),
                                 timeout=5, what="a stale line in the -j stream")
                self.assertIs(stale["broker"]["up"], False)
                self.assertGreater(stale["broker"]["seconds_since_update"], 2.5 * stale["broker"]["interval_seconds"])
                self.assertEqual(schema_problems(stale), [])
        finally:
            os.kill(self.broker.proc.pid, signal.SIGCONT)
        tmux.wait_screen("live", lambda s: s[0].rstrip().endswith(" live"), what="live again after SIGCONT")
        wait_for(lambda: "\nmqtt_broker_up 1\n" in scrape(listen), what="/metrics up again")
        wait_for(lambda: p.out.json()[-1]["broker"]["up"], what="-j: up again")
        out, err = self.stop(p)
        self.assertEqual(err, [])
        after = [json.loads(l) for l in out[frozen_line:]]
        self.assertEqual(sum(j["broker"]["stale"] for j in after), 1, "one stale line per episode")

    # 5. Schema -------------------------------------------------------------
    def test_json_schema(self):
        r = self.once("-j")
        self.assertEqual(r.returncode, 0, r.stderr)
        j = json.loads(r.stdout)
        self.assertEqual(schema_problems(j, with_status=True), [])
        # mosquitto 2.0.11 publishes every documented value at start.
        for group, members in SCHEMA.items():
            self.assertEqual(sorted(j[group]), sorted(members), group)
        for name in ("messages_received", "messages_sent", "publish_received", "publish_sent", "publish_dropped",
                     "bytes_received", "bytes_sent", "sockets", "connections"):
            self.assertEqual(sorted(j["load"][name]), ["15min", "1min", "5min"], name)
        self.assertTrue(all(v is not None for v in j["rates"].values()), "two rounds give every rate")
        self.assertNotIn("bridges", j)
        self.assertEqual(list(j)[:2], ["broker", "clients"])
        # The rates are numbers per second: a float or an int, never a string.
        self.assertIsInstance(j["broker"]["seconds_since_update"], (int, float))

    # 6. Prometheus ---------------------------------------------------------
    def check_exposition(self, text):
        rc, report = promtool(text)
        self.assertEqual((rc, report), (0, ""), text)
        self.assertEqual(exposition_problems(text), [], text)
        values = samples(text)
        self.assertEqual(values.get("mqtt_broker_up"), 1)
        self.assertEqual(values.get(f'mqtt_broker_info{{version="{VERSION}"}}'), 1)
        types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        for counter in ("messages_received", "messages_sent", "publish_messages_received", "publish_messages_sent",
                        "publish_messages_dropped", "received_bytes", "sent_bytes", "restarts_seen"):
            self.assertEqual(types.get(f"mqtt_broker_{counter}_total"), "counter", counter)
        for gauge in ("clients_connected", "subscriptions", "retained_messages", "uptime_seconds",
                      "heap_current_bytes", "last_update_timestamp_seconds"):
            self.assertEqual(types.get(f"mqtt_broker_{gauge}"), "gauge", gauge)
        self.assertAlmostEqual(values["mqtt_broker_last_update_timestamp_seconds"], time.time(), delta=60)
        load = [name for name, kind in types.items() if name.startswith("mqtt_broker_load_")]
        self.assertIn("mqtt_broker_load_messages_received_per_minute", load)
        for name in load:
            self.assertEqual(types[name], "gauge", name)
            self.assertEqual(sorted(k for k in values if k.startswith(name + "{")),
                             sorted(f'{name}{{window="{w}"}}' for w in ("1m", "5m", "15m")), name)
        self.assertFalse([k for k in values if "_per_s" in k and "load" not in k], "rates are not exported")
        return values

    def test_prometheus_once_and_scrape_pass_promtool(self):
        listen = free_port()
        p = self.monitor("--listen", str(listen))
        r = self.once("--format", "prometheus")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"")
        self.check_exposition(r.stdout.decode())
        text = wait_for(lambda: t if "\nmqtt_broker_up 1\n" in (t := scrape(listen)) else None,
                        what="/metrics with a round")
        self.check_exposition(text)
        self.stop(p)

    def test_exposition_checks_catch_mistakes(self):
        # The hand-written checks above are themselves checked.
        good = "# HELP mqtt_broker_x_total X\n# TYPE mqtt_broker_x_total counter\nmqtt_broker_x_total 1\n"
        self.assertEqual(exposition_problems(good), [])
        self.assertEqual(promtool(good)[0], 0)
        for bad in ("mqtt_broker_x_total 1\n", good.replace("_total", ""), good[:-1],
                    good.replace("counter", "gauge"), good + "mqtt_broker_x_total{a=b} 1\n"):
            self.assertNotEqual(exposition_problems(bad), [], bad)

    # 7. --output -----------------------------------------------------------
    def test_output_file_is_replaced_atomically(self):
        d = self.tempdir()
        path = os.path.join(d, "mqtt.prom")
        p = self.monitor("--format", "prometheus", "--output", path)
        contents = []
        reads = 0

        def read_until_three_rounds():
            nonlocal reads
            try:
                with open(path) as f:
                    text = f.read()
            except FileNotFoundError:
                return False
            reads += 1
            if not contents or contents[-1] != text:
                contents.append(text)
            return len({samples(c).get("mqtt_broker_uptime_seconds") for c in contents}) >= 3

        deadline = time.monotonic() + TIMEOUT
        while not read_until_three_rounds():  # often: a torn write would show
            time.sleep(0.001)
            self.assertLess(time.monotonic(), deadline, "three rounds in --output")
            self.assertIsNone(p.poll(), p.err.lines)
        out, err = self.stop(p)
        self.assertEqual((out, err), ([], []))
        self.assertGreater(reads, len(contents))
        for text in contents:
            self.assertTrue(text.startswith("# HELP mqtt_broker_up "), text[:80])
            self.assertEqual(exposition_problems(text), [], text)
            self.assertIn("mqtt_broker_restarts_seen_total", text)
        self.assertEqual(promtool(contents[-1]), (0, ""))
        self.assertEqual(os.listdir(d), ["mqtt.prom"], "a temporary file was left behind")
        # --once --output: the one snapshot goes to the file, nothing to stdout.
        once = os.path.join(d, "once.json")
        r = self.once("-j", "--output", once)
        self.assertEqual((r.returncode, r.stdout, r.stderr), (0, b"", b""))
        with open(once) as f:
            j = json.load(f)
        self.assertEqual(schema_problems(j, with_status=True), [])
        self.assertEqual(sorted(os.listdir(d)), ["mqtt.prom", "once.json"])

    # 8. --listen -----------------------------------------------------------
    def test_listen_serves_metrics_on_loopback(self):
        listen = free_port()
        p = self.monitor("--listen", str(listen), "-j")
        out = p.out
        wait_for(lambda: out.lines, what="a round")
        status, ctype, body = wait_for(lambda: r if "mqtt_broker_up 1" in (r := http_get(listen, "/metrics"))[2]
                                       else None, what="/metrics")
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain"), ctype)
        self.assertIn("version=0.0.4", ctype)
        self.assertEqual(exposition_problems(body), [])
        for path in ("/", "/metric", "/metrics/x", "/favicon.ico"):
            self.assertEqual(http_get(listen, path)[0], 404, path)
        # PORT alone: 127.0.0.1 only (/proc/net/tcp shows 0100007F:PORT listening).
        self.assertEqual(listeners(listen), [f"0100007F:{listen:04X}"])
        argv = [tool("mqtk-sys-monitor"), "-p", self.port, "--listen", f"127.0.0.1:{listen}", "-j"]
        with self.subTest("the port taken by another program"):
            taken = socket.socket()
            self.addCleanup(taken.close)
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            argv_taken = argv[:-2] + [f"127.0.0.1:{taken.getsockname()[1]}", "-j"]
            r = subprocess.run(argv_taken, stdin=subprocess.DEVNULL, capture_output=True, timeout=TIMEOUT,
                               cwd=self.cwd)
            self.assertEqual((r.returncode, r.stdout), (1, b""), r.stderr)
            self.assertIn(b"--listen: cannot listen on 127.0.0.1:%d" % taken.getsockname()[1], r.stderr)
        with self.subTest("the port taken by another mqtk-sys-monitor"):
            second = self.spawn(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            wait_for(lambda: second.poll() is not None or len(listeners(listen)) > 1, what="the second monitor")
            self.assertEqual(second.poll(), 1, "a second monitor listens on the same port (both sockets: "
                                               f"{listeners(listen)}): the kernel shares scrapes between them")
        self.stop(p)

    # 9. Nagios -------------------------------------------------------------
    NAGIOS = re.compile(r"MQTT BROKER (OK|WARNING|CRITICAL) - (?:(.*); )?" + re.escape(VERSION) +
                        r", up (\d+) s, (\d+) clients \|((?: [a-z_]+=[0-9.]+)+) uptime=(\d+)s")

    def test_nagios_statuses(self):
        runs = {
            0: [],
            1: ["--warn-when", ".clients.connected >= 1"],
            2: ["--warn-when", ".clients.connected >= 1", "--alert-when", ".clients.connected >= 1"],
        }
        argv = [tool("mqtk-sys-monitor"), "-p", self.port, "--once"]
        procs = {status: self.spawn(argv + args, stdin=subprocess.DEVNULL) for status, args in runs.items()}
        json_proc = self.spawn(argv + ["-j", "--alert-when", ".rates.publish_sent_per_s >= 0"],
                               stdin=subprocess.DEVNULL)
        words = {0: "OK", 1: "WARNING", 2: "CRITICAL"}
        reasons = {0: None, 1: "--warn-when .clients.connected >= 1", 2: "--alert-when .clients.connected >= 1"}
        for status, p in procs.items():
            with self.subTest(status=status):
                rc, out, err = self.finish(p)
                self.assertEqual((rc, err), (status, b""))
                lines = out.decode().splitlines()
                self.assertEqual(len(lines), 1, out)
                m = self.NAGIOS.fullmatch(lines[0])
                self.assertTrue(m, lines[0])
                self.assertEqual((m.group(1), m.group(2)), (words[status], reasons[status]))
                self.assertEqual(m.group(3), m.group(6), "uptime in the summary and the performance data")
                perf = dict(item.split("=") for item in m.group(5).split())
                self.assertEqual(perf["clients_connected"], m.group(4))
                for label in ("subscriptions", "retained_messages", "messages_received_per_s",
                              "messages_sent_per_s", "publish_received_per_s", "publish_sent_per_s",
                              "publish_dropped_per_s"):
                    self.assertIn(label, perf)
        rc, out, err = self.finish(json_proc)
        self.assertEqual((rc, err), (2, b""))
        self.assertEqual(json.loads(out)["status"], 2)

    def test_nagios_unknown(self):
        no_sys = self.extra_broker(extra_config="sys_interval 0")
        acl = os.path.join(self.broker.dir, "acl")
        with open(acl, "w") as f:
            f.write("topic read other/#\n")
        denied = self.extra_broker(extra_config=f"{SYS}\nacl_file {acl}\nmax_queued_messages 1000")
        lost = self.extra_broker(extra_config="sys_interval 0")
        argv = [tool("mqtk-sys-monitor"), "--once"]
        cases = {
            "sys_interval 0": (no_sys.port, ["--timeout", "3"], ["sys_interval 0", "ACL"]),
            "ACL denies $SYS": (denied.port, ["--timeout", "3"], ["sys_interval 0", "ACL"]),
            "closed port": (free_port(), [], ["cannot connect"]),
            "lost connection": (lost.port, ["--timeout", "60", "-i", f"lost-{os.getpid()}"], ["lost the connection"]),
        }
        procs = {name: self.spawn(argv + ["-p", str(port)] + args, stdin=subprocess.DEVNULL)
                 for name, (port, args, _) in cases.items()}
        self.wait_subscribed(lost, f"lost-{os.getpid()}", procs["lost connection"])
        lost.stop()
        for name, p in procs.items():
            with self.subTest(name):
                start = time.monotonic()
                rc, out, err = self.finish(p)
                self.assertEqual(rc, 3, err)
                lines = out.decode().splitlines()
                self.assertEqual(len(lines), 1, f"one status line on stdout, got {out!r} (stderr: {err!r})")
                self.assertTrue(lines[0].startswith("MQTT BROKER UNKNOWN - "), lines[0])
                for needle in cases[name][2]:
                    self.assertIn(needle, lines[0])
                self.assertLess(time.monotonic() - start, 20)
        self.assertIn("Received SUBSCRIBE from", denied.log(), "the ACL case reached the subscription")

    # Warnings and alerts without --once -------------------------------------
    def test_alerts_once_per_turn(self):
        alerts = self.spawn_sub("-t", "alerts/sys")
        alert_lines = Lines(alerts.stdout)
        warn, alert = ".broker.uptime_seconds >= 0", ".clients.connected >= 3"
        p = self.monitor("-j", "--warn-when", warn, "--alert-when", alert, "--alert-topic", "alerts/sys")
        out = p.out

        def wait_connected(n):
            start = len(out.lines)
            wait_for(lambda: any(j.get("clients", {}).get("connected") == n for j in out.json()[start:]),
                     what=f"a round with {n} clients")

        wait_connected(2)  # the monitor and the alerts subscriber: the alert does not hold
        for turn in range(2):
            extra = self.spawn([tool("mqtk-sub"), "-p", self.port, "-t", "x", "-i", f"extra-{turn}-{os.getpid()}"])
            wait_connected(3)
            extra.terminate()
            extra.wait()
            wait_connected(2)
        wait_for(lambda: len(alert_lines.lines) >= 3, what="three alerts published")
        _, err = self.stop(p)
        self.assertEqual(err, [f"mqtk-sys-monitor: WARNING: {warn} holds",
                               f"mqtk-sys-monitor: ALERT: {alert} holds",
                               f"mqtk-sys-monitor: ALERT: {alert} holds"])
        published = [json.loads(l) for l in alert_lines.lines]
        self.assertEqual(len(published), 3, published)
        for a in published:
            self.assertEqual(a["broker"], f"localhost:{self.port}")
        self.assertEqual([(a["level"], a["when"]) for a in published],
                         [("warning", warn), ("critical", alert), ("critical", alert)])

    # 10. The live view under tmux ----------------------------------------------
    def test_live_view_under_tmux(self):
        tmux = Tmux(self)
        monitor = shlex.quote(tool("mqtk-sys-monitor"))
        no_sys = self.extra_broker(extra_config="sys_interval 0")
        lost = self.extra_broker(extra_config=SYS)

        tmux.new_tool("quit", f"{monitor} -p {self.port}")
        tmux.new_tool("term", f"{monitor} -p {self.port}")
        tmux.new_tool("intr", f"{monitor} -p {self.port}")
        tmux.new_tool("nosys", f"{monitor} -p {no_sys.port} --timeout 3")
        tmux.new_tool("lost", f"{monitor} -p {lost.port}")

        def live(s):
            return s[0].rstrip().endswith(" live") and "Clients" in s[3]

        # Before anything else: this one ends after its --timeout of 3 s.
        tmux.wait_screen("nosys", lambda s: "waiting for $SYS" in s[0], what="nosys: waiting for $SYS")
        for name in ("quit", "term", "intr", "lost"):
            tmux.wait_screen(name, live, what=f"{name}: the live view")
        screen = tmux.wait_screen("quit", lambda s: s if any("peak" in l for l in s) else None,
                                  what="the sparkline after two rounds")
        self.assertEqual(len(screen), 24)
        self.assertTrue(screen[0].startswith(f"mqtk-sys-monitor  localhost:{self.port}"), screen[0])
        self.assertEqual(screen[0].rstrip().rindex("live"), 80 - 4 - 1)
        self.assertTrue(screen[1].startswith(VERSION), screen[1])
        labels = [l.split("  ")[0] for l in screen]
        for label in ("Clients", "Subscriptions", "PUBLISH/s", "PUBLISH in/s"):
            self.assertIn(label, labels)
        self.assertRegex(screen[labels.index("Clients")], r"connected \d+")
        self.assertEqual(screen[-1].rstrip(), "q quit")
        self.assertEqual(tmux.display("quit", "#{alternate_on} #{cursor_flag}"), "1 0")
        # A resize: the view is redrawn at the new size.
        tmux.run("resize-window", "-t", "quit", "-x", "100", "-y", "30")
        screen = tmux.wait_screen("quit", lambda s: s if len(s) == 30 and s[0].rstrip().endswith(" live")
                                  and s[0].rstrip().rindex("live") == 100 - 4 - 1 and s[-1].rstrip() == "q quit"
                                  else None, what="the view redrawn at 100x30")
        self.assertTrue(all(len(l) <= 100 for l in screen))

        with self.subTest("q"):
            tmux.run("send-keys", "-t", "quit", "q")
            tmux.ended(self, "quit", 0)
        with self.subTest("SIGTERM"):
            os.kill(tmux.tool_pid("term", "mqtk-sys-monito"), signal.SIGTERM)
            tmux.ended(self, "term", 0)
        with self.subTest("Ctrl-C"):
            tmux.run("send-keys", "-t", "intr", "C-c")
            tmux.ended(self, "intr", 0)
        with self.subTest("no $SYS"):
            shown = tmux.ended(self, "nosys", 1)
            self.assertIn("sys_interval 0", shown)
        with self.subTest("lost connection, then the broker back"):
            # An uptime the restarted broker cannot have when the view is
            # back (a restart shows as the uptime going back).
            tmux.wait_screen("lost", lambda s: (m := re.search(r" up (\d+)s ", s[1])) and int(m.group(1)) >= 8,
                             what="lost: an uptime of 8 s")
            lost.stop()
            tmux.wait_screen("lost", lambda s: s[0].rstrip().endswith(" DISCONNECTED"), what="DISCONNECTED")
            restart_on_same_port(lost)
            tmux.wait_screen("lost", lambda s: live(s) and "restarts seen: 1" in s[1],
                             what="live again, the restart seen")
            tmux.run("send-keys", "-t", "lost", "q")
            tmux.ended(self, "lost", 0)

    # Usage errors --------------------------------------------------------------
    def test_usage_errors_before_connecting(self):
        # Exit 1 while watching; with --once 3 (a Nagios plugin's usage error
        # is UNKNOWN). Either way before connecting.
        for args, needle in [
            (["--once", "--format", "live"], "--once prints one snapshot"),
            (["--format", "live"], "--format live needs a terminal on stdout"),
            (["-t", "a/#"], "-t: 'a/#' is not a $SYS filter"),
            (["--once", "-t", "a/#"], "-t: 'a/#' is not a $SYS filter"),
            (["-t", "$SYS/+x"], "-t: "),
            (["--listen", "nope"], "--listen: 'nope' is not a port"),
            (["--listen", "70000"], "--listen: '70000' is not a port"),
            (["--listen", ":9100"], "--listen: no host before ':'"),
            (["--once", "--listen", "9100"], "--listen serves metrics while watching"),
            (["--alert-topic", "alerts"], "--alert-topic needs --warn-when or --alert-when"),
            (["--alert-topic", "a/#", "--warn-when", ".x > 1"], "--alert-topic"),
            (["--once", "--alert-topic", "a", "--warn-when", ".x > 1"], "--alert-topic is for watching"),
            (["-j", "--format", "prometheus"], "-j and --format prometheus exclude each other"),
            (["--format", "xml"], "--format"),
            (["--warn-when", ".clients.connected >"], "--warn-when: "),
            (["--once", "--alert-when", "("], "--alert-when: "),
            (["--timeout", "0"], "--timeout"),
            (["--once", "--no-such-option"], "--no-such-option"),
        ]:
            with self.subTest(args=args):
                r = subprocess.run([tool("mqtk-sys-monitor"), "-p", self.port, *args], stdin=subprocess.DEVNULL,
                                   capture_output=True, timeout=TIMEOUT, cwd=self.cwd)
                err = r.stderr.decode(errors="replace")
                self.assertEqual(r.returncode, 3 if "--once" in args else 1, err)
                self.assertIn(needle, err)
                self.assertNotIn("terminate called", err)
                if "--once" not in args:
                    self.assertEqual(r.stdout, b"")
        self.assert_no_connection()


if __name__ == "__main__":
    unittest.main()
