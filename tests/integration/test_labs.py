"""The "## Labs" section of README.md, run for real: each lab command line
(copied verbatim below and checked against the README) runs against the
test's private broker, fed by scripts/accel-sim with a fixed seed, and
an independent subscriber started first counts what arrives. Also the
threshold-filter flags with bad input: malformed expressions, wrong field
counts, CRLF, a 1 MB line, failing --exec commands.

Exact counts: a subscriber expecting K messages is started with -C K+1
and, once the publisher has finished, a sentinel message is published on
the same topic; it must arrive as message K+1, so nothing more and nothing
less than K got through."""

import json
import math
import os
import re
import select
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

from mqtk_testing import TIMEOUT, BrokerTestCase, tool, wait_for, free_port

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
README = os.path.join(ROOT, "README.md")
ACCEL_SIM = os.path.join(ROOT, "scripts", "accel-sim")
SENTINEL = b"__end_of_test__"

# The lab command lines, exactly as README.md shows them.
LAB_A = "scripts/accel-sim | mqtk-pub -l -t lab/accel/raw --fields ax,ay,az"
LAB_B = ("scripts/accel-sim --spike-every 100 | mqtk-pub -l -t lab/accel/shake --fields ax,ay,az"
         " --where 'abs(.ax) > 1.5'")
LAB_C = ("scripts/accel-sim --spike-every 100 | mqtk-pub -l -t lab/accel/raw --fields ax,ay,az"
         " --alert-topic lab/accel/alert --alert-when 'sqrt(.ax*.ax+.ay*.ay+.az*.az) > 12'"
         " --rearm 'sqrt(.ax*.ax+.ay*.ay+.az*.az) < 10.5' --alert-message 'shake {.ax}'")
LAB_D = "mqtk-sub -t lab/accel/alert -j"
LAB_E_HOOK = '''python3 -c '
import http.server
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        print("POST", self.path, body.decode(errors="replace"), flush=True)
        self.send_response(204)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", 8080), Hook).serve_forever()\''''
LAB_E_BRIDGE = ("mqtk-sub -t lab/door --alert-when '. == 1' --edge --exec-on alert --exec curl -fsS -X POST"
                " --data-binary @- http://127.0.0.1:8080/hook")
LAB_E_DOOR = "scripts/accel-sim --door --rate 1 | mqtk-pub -l -t lab/door"
LAB_F = ("mqtk-sub -t lab/accel/raw -j | jq --unbuffered -c"
         " '.payload | {g: ((.ax*.ax + .ay*.ay + .az*.az) | sqrt)}' | mqtk-pub -l -t lab/accel/magnitude")
LAB_G_S1 = "scripts/accel-sim --spike-every 100 | mqtk-pub -l -t lab/s1/accel --fields ax,ay,az"
LAB_G_S2 = "scripts/accel-sim --spike-every 150 | mqtk-pub -l -t lab/s2/accel --fields ax,ay,az"
LAB_G_PLOT = "mqtk-sub -t 'lab/+/accel' --plot '.ax,sqrt(.ax*.ax+.ay*.ay+.az*.az)' --plot-svg lab.svg"
LAB_H_SERVICE = ("mqtk-sub -V 5 -t lab/svc/magnitude --exec sh -c 'awk -F, \"{ print sqrt(\\$1^2 + \\$2^2 + \\$3^2) }\""
                 " | mqtk-pub -l -t \"$MQTT_RESPONSE_TOPIC\" -D publish correlation-data \"$MQTT_CORRELATION_DATA\"'")
LAB_H_WAIT = "mqtk-sub -V 5 -t lab/svc/reply/ann -C 1 -F '%D: |a| = %p'"
LAB_H_ASK = ("mqtk-pub -t lab/svc/magnitude -m 3,4,12 -D publish response-topic lab/svc/reply/ann"
             " -D publish correlation-data req-1")
LABS = [LAB_A, LAB_B, LAB_C, LAB_D, LAB_E_HOOK, LAB_E_BRIDGE, LAB_E_DOOR, LAB_F, LAB_G_S1, LAB_G_S2, LAB_G_PLOT,
        LAB_H_SERVICE, LAB_H_WAIT, LAB_H_ASK]

MAGNITUDE = "sqrt(.ax*.ax+.ay*.ay+.az*.az)"


def sim_lines(*args):
    """scripts/accel-sim's output for args, as a list of str lines."""
    r = subprocess.run([sys.executable, ACCEL_SIM] + list(args), capture_output=True, timeout=120, check=True)
    return r.stdout.decode().splitlines()


def fields_json(line):
    """What --fields ax,ay,az makes of an accel-sim line (its numbers as written)."""
    ax, ay, az = line.split(",")
    return f'{{"ax":{ax},"ay":{ay},"az":{az}}}'


def read_until(stream, done, what, timeout=TIMEOUT):
    """Reads a child's stdout pipe until done(bytes read so far), failing
    after timeout seconds instead of hanging (uses the raw descriptor only)."""
    fd = stream.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not done(buf):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"timed out waiting for {what}; got {buf[:2000]!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"end of output before {what}: {buf[:2000]!r}")
        buf += chunk
    return buf


def read_lines(stream, n, timeout=TIMEOUT):
    """Reads exactly n lines from a child's stdout pipe."""
    buf = read_until(stream, lambda b: b.count(b"\n") >= n, f"{n} lines", timeout)
    lines = buf.split(b"\n")
    if lines[n:] != [b""]:
        raise AssertionError(f"more output than {n} lines: {buf[:2000]!r}")
    return [x + b"\n" for x in lines[:n]]


def read_until_sentinel(stream, timeout=TIMEOUT):
    """Reads a `mqtk-sub -v` child's lines up to the sentinel message; returns
    the payloads before it."""
    buf = read_until(stream, lambda b: b" " + SENTINEL + b"\n" in b, "the sentinel", timeout)
    return [x.split(b" ", 1)[1].decode() for x in buf.split(b"\n")[:-2]]


def magnitude(line):
    return math.sqrt(sum(float(v) ** 2 for v in line.split(",")))


def group_size(pgid):
    """How many processes are in process group pgid."""
    n = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                n += int(f.read().rsplit(")", 1)[1].split()[2]) == pgid
        except (OSError, IndexError, ValueError):
            pass
    return n


class LabTestCase(BrokerTestCase):
    def setUp(self):
        super().setUp()
        # Wrappers that point the README's "mqtk-pub"/"mqtk-sub" at the built
        # tools and the test's broker; outside the working directory, which
        # must stay empty. MQTK_LAB_ID, when set, becomes mqtk-sub's client id
        # so the test can wait for its subscription.
        self.tmp = tempfile.mkdtemp(prefix="mqtk-labs-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.bin = os.path.join(self.tmp, "bin")
        os.mkdir(self.bin)
        for name in ("mqtk-pub", "mqtk-sub"):
            extra = ' ${MQTK_LAB_ID:+-i "$MQTK_LAB_ID"}' if name == "mqtk-sub" else ""
            path = os.path.join(self.bin, name)
            with open(path, "w") as f:
                f.write(f'#!/bin/sh\nexec {shlex.quote(tool(name))} -p {self.port}{extra} "$@"\n')
            os.chmod(path, 0o755)
        self.groups = []
        self.addCleanup(self._kill_groups)

    def _kill_groups(self):
        for p in self.groups:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()

    def env(self, **extra):
        return dict(os.environ, PATH=self.bin + os.pathsep + os.environ.get("PATH", ""), **extra)

    def lab(self, command, sim_args=""):
        """The README command line made runnable here: accel-sim by its full
        path, with sim_args (e.g. --count/--rate 0/--seed) after the README's
        own options so that they win."""
        def sim(m):
            return f"{shlex.quote(sys.executable)} {shlex.quote(ACCEL_SIM)}{m.group(1)} {sim_args} |"
        if "|" not in command:
            return "exec " + command  # signals reach the tool itself
        return re.sub(r"scripts/accel-sim([^|]*?)\s*\|", sim, command)

    def run_lab(self, command, sim_args="", timeout=120):
        r = subprocess.run(["sh", "-c", self.lab(command, sim_args)], capture_output=True, timeout=timeout,
                           cwd=self.cwd, env=self.env())
        return r

    def spawn_lab(self, command, sim_args="", client_id=None, stdout=subprocess.PIPE):
        """Starts a lab command line in its own process group; with a
        client_id, returns once mqtk-sub in it has its subscription."""
        env = self.env(MQTK_LAB_ID=client_id) if client_id else self.env()
        p = subprocess.Popen(["sh", "-c", self.lab(command, sim_args)], stdin=subprocess.DEVNULL, stdout=stdout,
                             stderr=subprocess.PIPE, cwd=self.cwd, env=env, start_new_session=True)
        self.groups.append(p)
        if client_id:
            wait_for(lambda: f"Sending SUBACK to {client_id}" in self.broker.log() or p.poll() is not None,
                     what=f"{client_id} to subscribe")
            self.assertIsNone(p.poll(), p.stderr.read().decode(errors="replace") if p.poll() is not None else "")
        return p

    def counter(self, topic, expected, *args):
        """An independent subscriber that will take expected messages plus the sentinel."""
        return self.spawn_sub("-t", topic, "-C", str(expected + 1), *args)

    def publishers_done(self):
        """Waits until the broker has processed everything from each mqtk-pub
        that connected so far (it logs the DISCONNECT after the last
        PUBLISH). Only then can a sentinel from another client not overtake
        their messages: mosquitto interleaves reads from different clients."""
        def done():
            log = self.broker.log()
            ids = re.findall(r"New client connected from \S+ as (mqtk-pub-\S+) ", log)
            return all(f"Client {i} disconnected" in log or f"Client {i} closed its connection" in log
                       for i in ids)
        wait_for(done, what="the publishers to disconnect")

    def publish_sentinel(self, topic):
        self.publishers_done()
        r = self.run_tool("mqtk-pub", "-t", topic, "-m", SENTINEL.decode())
        self.assertEqual(r.returncode, 0, r.stderr)

    def sentinel_lines(self, sub, topic, wait_publishers=True):
        """Publishes the sentinel to topic, waits for sub and returns the
        lines it printed before the sentinel."""
        if wait_publishers:
            self.publishers_done()
        r = self.run_tool("mqtk-pub", "-t", topic, "-m", SENTINEL.decode())
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        lines = out.split(b"\n")
        self.assertEqual(lines[-1], b"")
        self.assertEqual(lines[-2], SENTINEL, "the sentinel must come last")
        return lines[:-2]

    def stop(self, p, sig=signal.SIGINT, group=False):
        """Sends sig to p (a single command, exec'd by sh), or to its whole
        process group as Ctrl-C in a terminal would."""
        if group:
            os.killpg(p.pid, sig)
        else:
            p.send_signal(sig)
        out, err = p.communicate(timeout=30)
        return p.returncode, out, err


class ReadmeLabsTest(LabTestCase):
    def test_readme_has_the_labs_section_with_these_commands(self):
        with open(README) as f:
            text = f.read()
        heads = re.findall(r"^## (.+)$", text, re.M)
        self.assertIn("Labs", heads)
        i = heads.index("Labs")
        self.assertEqual(heads[i - 1], "Using mqtk-bench", "Labs follows the usage sections")
        section = text.split("## Labs\n", 1)[1].split("\n## ", 1)[0]
        for command in LABS:
            with self.subTest(command=command[:40]):
                self.assertIn(command + "\n", section)

    def test_accel_sim_is_deterministic_and_flags_exact_lines(self):
        a = sim_lines("--count", "300", "--rate", "0", "--seed", "7", "--spike-every", "100")
        self.assertEqual(a, sim_lines("--count", "300", "--rate", "0", "--seed", "7", "--spike-every", "100"))
        self.assertEqual(len(a), 300)
        shaking = [i for i, line in enumerate(a) if abs(float(line.split(",")[0])) > 1.5]
        self.assertEqual(shaking, [97, 98, 99, 197, 198, 199, 297, 298, 299])
        self.assertEqual([i for i, line in enumerate(a) if magnitude(line) > 12], shaking)
        self.assertTrue(all(magnitude(line) < 10.5 for i, line in enumerate(a) if i not in shaking))
        door = sim_lines("--door", "--count", "50", "--rate", "0", "--seed", "7")
        self.assertEqual(set(door), {"0", "1"})
        self.assertEqual(sim_lines("--door", "--hold", "2", "--count", "6", "--rate", "0", "--header"),
                         ["open", "0", "0", "1", "1", "0", "0"])

    def test_lab_a_raw_readings(self):
        n = 250
        sim = f"--count {n} --rate 0 --seed 11"
        expected = [fields_json(line).encode() for line in sim_lines(*sim.split())]
        sub = self.counter("lab/accel/raw", n)
        r = self.run_lab(LAB_A, sim)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.sentinel_lines(sub, "lab/accel/raw"), expected)

    def test_lab_b_threshold(self):
        sim = "--count 1000 --rate 0 --seed 12"
        lines = sim_lines(*(sim + " --spike-every 100").split())
        expected = [fields_json(line).encode() for line in lines if abs(float(line.split(",")[0])) > 1.5]
        self.assertEqual(len(expected), 30)
        sub = self.counter("lab/accel/shake", len(expected))
        r = self.run_lab(LAB_B, sim)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.sentinel_lines(sub, "lab/accel/shake"), expected)

    def test_lab_c_alerts_besides_raw_data(self):
        sim = "--count 1000 --rate 0 --seed 13"
        lines = sim_lines(*(sim + " --spike-every 100").split())
        # One alert per shake (3 lines each), carrying the first shake line's ax.
        firsts = [line for i, line in enumerate(lines) if magnitude(line) > 12 and magnitude(lines[i - 1]) <= 12]
        self.assertEqual(len(firsts), 10)
        raw = self.counter("lab/accel/raw", len(lines))
        alerts = self.counter("lab/accel/alert", len(firsts))
        r = self.run_lab(LAB_C, sim)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.sentinel_lines(raw, "lab/accel/raw"), [fields_json(x).encode() for x in lines])
        self.assertEqual(self.sentinel_lines(alerts, "lab/accel/alert"),
                         [f"shake {x.split(',')[0]}".encode() for x in firsts])

    def test_lab_d_watch_alerts_as_json(self):
        sim = "--count 500 --rate 0 --seed 14"
        watcher = self.spawn_lab(LAB_D, client_id="lab-d-watcher")
        r = self.run_lab(LAB_C, sim)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        objs = [json.loads(x) for x in read_lines(watcher.stdout, 5)]
        for o in objs:
            self.assertEqual(o["topic"], "lab/accel/alert")
            self.assertRegex(o["payload"], r"^shake -?7\.\d{3}$")
        rc, out, err = self.stop(watcher)
        self.assertEqual((rc, out, err), (0, b"", b""), "exactly 5 alerts, clean exit on Ctrl-C")

    def test_lab_e_door_alarm_to_webhook(self):
        if not shutil.which("curl"):
            self.skipTest("curl is not installed (apt-get install curl)")
        port = str(free_port())
        hook = self.spawn_lab(LAB_E_HOOK.replace("8080", port))

        def listening():
            try:
                with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
                    return True
            except OSError:
                return hook.poll() is not None
        wait_for(listening, what="the stand-in webhook")
        if hook.poll() is not None:
            self.fail(f"the stand-in webhook did not start: {hook.stderr.read()!r}")
        bridge = self.spawn_lab(LAB_E_BRIDGE.replace("8080", port), client_id="lab-e-bridge")
        sim = "--count 40 --rate 0 --seed 15"
        states = sim_lines(*("--door " + sim).split())
        # One POST per opening (closed to open), not one per "open" message.
        opens = sum(1 for i, s in enumerate(states) if s == "1" and (i == 0 or states[i - 1] == "0"))
        self.assertGreater(opens, 3)
        self.assertGreater(states.count("1"), opens)
        r = self.run_lab(LAB_E_DOOR, sim)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        received = read_lines(hook.stdout, opens)
        self.assertEqual(received, [b"POST /hook 1\n"] * opens)
        # Every door message is printed (no --where); nothing failed, and no
        # further POST came.
        wait_for(lambda: self.broker.log().count("Sending PUBLISH to lab-e-bridge ") >= len(states),
                 what="every door state delivered to the bridge")
        rc, out, err = self.stop(bridge)
        self.assertEqual((rc, out, err), (0, "".join(s + "\n" for s in states).encode(), b""))
        hook.send_signal(signal.SIGTERM)
        rest, _ = hook.communicate(timeout=TIMEOUT)
        self.assertEqual(rest, b"", "a POST more than the openings")

    def test_lab_f_jq_pipeline(self):
        if not shutil.which("jq"):
            self.skipTest("jq is not installed (apt-get install jq)")
        sim = "--count 200 --rate 0 --seed 16 --spike-every 50"
        lines = sim_lines(*sim.split())
        out = self.counter("lab/accel/magnitude", len(lines))
        pipeline = self.spawn_lab(LAB_F, client_id="lab-f-pipeline")
        r = self.run_lab(LAB_A, sim)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        # The pipeline is asynchronous: wait for its last message before the sentinel.
        wait_for(lambda: self.broker.log().count("Received PUBLISH from") >= 2 * len(lines),
                 what="the jq pipeline to publish every magnitude")
        got = self.sentinel_lines(out, "lab/accel/magnitude", wait_publishers=False)
        self.assertEqual(len(got), len(lines))
        for line, msg in zip(lines, got):
            self.assertAlmostEqual(json.loads(msg)["g"], magnitude(line), places=9)
        # Ctrl-C ends the whole pipeline.
        self.stop(pipeline, group=True)


    def test_lab_h_request_response(self):
        service = self.spawn_lab(LAB_H_SERVICE, client_id="lab-h-service")
        idle = group_size(service.pid)  # before any request: no command running
        answer = self.spawn_lab(LAB_H_WAIT, client_id="lab-h-wait")
        r = self.run_lab(LAB_H_ASK)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(answer.communicate(timeout=TIMEOUT), (b"req-1: |a| = 13\n", b""))
        self.assertEqual(answer.returncode, 0)
        # A second student's request gets its own answer, on its own topic.
        other = self.spawn_sub("-V", "5", "-t", "lab/svc/reply/bo", "-C", "1", "-F", "%D %p")
        r = self.run_lab(LAB_H_ASK.replace("ann", "bo").replace("req-1", "req-2").replace("3,4,12", "0,0,9"))
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(other), (0, b"req-2 9\n", b""))
        # Wait until the service's last command has ended (its process
        # group as before the requests), so that Ctrl-C ends no answer.
        wait_for(lambda: group_size(service.pid) <= idle, what="the service's commands to end")
        # Its '|' is inside the quotes, so sh runs it without exec: Ctrl-C
        # reaches the whole group, as in a terminal.
        _, out, err = self.stop(service, group=True)
        self.assertEqual((out, err), (b"3,4,12\n0,0,9\n", b""), "the service prints each request")

    def test_lab_g_visualise_it(self):
        # The live chart itself is tested under tmux (test_plot.py); here the
        # README's command line runs off a terminal, where --plot-svg makes it
        # print the messages and write the chart at exit (Ctrl-C), into a
        # temporary directory rather than the working one.
        svg = os.path.join(self.tmp, "lab.svg")
        printed = os.path.join(self.tmp, "lab-g.out")
        with open(printed, "wb") as out:
            plot = self.spawn_lab(LAB_G_PLOT.replace("lab.svg", shlex.quote(svg)), client_id="lab-g-plot",
                                  stdout=out)
        for command, seed in ((LAB_G_S1, 17), (LAB_G_S2, 18)):
            r = self.run_lab(command, f"--count 300 --rate 0 --seed {seed}")
            self.assertEqual((r.returncode, r.stderr), (0, b""))
        # Printed, so taken into the chart (the broker having sent them is not
        # enough: Ctrl-C could come before mqtk-sub read the last ones).
        def lines_printed():
            with open(printed, "rb") as f:
                return f.read().count(b"\n")
        wait_for(lambda: lines_printed() >= 600, what="every reading printed by the chart's mqtk-sub")
        rc, _, err = self.stop(plot)
        self.assertEqual((rc, err), (0, b""))
        paths = [p for p in ET.parse(svg).getroot().iter("{http://www.w3.org/2000/svg}path")
                 if p.get("class") == "series"]
        self.assertEqual(sorted((p.get("data-topic"), p.get("data-expression"), p.get("data-points")) for p in paths),
                         [("lab/s1/accel", ".ax", "300"), ("lab/s1/accel", "sqrt(.ax*.ax+.ay*.ay+.az*.az)", "300"),
                          ("lab/s2/accel", ".ax", "300"), ("lab/s2/accel", "sqrt(.ax*.ax+.ay*.ay+.az*.az)", "300")])
        s1 = {p.get("data-expression"): p for p in paths if p.get("data-topic") == "lab/s1/accel"}
        self.assertGreater(float(s1["sqrt(.ax*.ax+.ay*.ay+.az*.az)"].get("data-max")), 12)  # the shakes


class AlertModesTest(LabTestCase):
    """--edge, --rearm, level alerts and --cooldown on accel-sim's shakes."""

    SIM = "--count 600 --rate 0 --seed 21 --spike-every 100"

    def test_level_edge_rearm_cooldown_counts(self):
        lines = sim_lines(*self.SIM.split())
        data = "".join(x + "\n" for x in lines).encode()
        shakes = sum(1 for x in lines if magnitude(x) > 12)
        self.assertEqual(shakes, 18)
        cases = [
            ("level", [], shakes),
            ("edge", ["--edge"], 6),
            ("rearm", ["--rearm", f"{MAGNITUDE} < 10.5"], 6),
            # The re-arming condition never holds: one alert only.
            ("rearm never", ["--rearm", f"{MAGNITUDE} < 1"], 1),
            ("cooldown", ["--cooldown", "3600"], 1),
            ("edge-cooldown", ["--edge", "--cooldown", "3600"], 1),
        ]
        for name, args, expected in cases:
            with self.subTest(name):
                topic = f"alerts/{name.replace(' ', '-')}"
                sub = self.counter(topic, expected)
                r = self.run_tool("mqtk-pub", "-l", "--fields", "ax,ay,az", "--alert-topic", topic,
                                  "--alert-when", f"{MAGNITUDE} > 12", "--alert-message", "{.ax}", *args,
                                  input=data)
                self.assertEqual(r.returncode, 0, r.stderr)
                # Only held-back alerts are summarised on stderr.
                if "--cooldown" in args:
                    self.assertRegex(r.stderr, rb"^mqtk-pub: --cooldown held back \d+ alerts\n$")
                else:
                    self.assertEqual(r.stderr, b"")
                got = self.sentinel_lines(sub, topic)
                self.assertEqual(len(got), expected, got)

    def test_default_alert_object(self):
        lines = sim_lines("--count", "100", "--rate", "0", "--seed", "22", "--spike-every", "100")
        first = next(x for x in lines if magnitude(x) > 12)
        data = "".join(x + "\n" for x in lines).encode()
        sub = self.counter("lab/accel/alert", 1)
        when = f"{MAGNITUDE} > 12"
        r = self.run_tool("mqtk-pub", "-l", "-t", "lab/accel/raw", "--fields", "ax,ay,az",
                          "--alert-topic", "lab/accel/alert", "--alert-when", when, "--edge", input=data)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        [alert] = self.sentinel_lines(sub, "lab/accel/alert")
        self.assertNotIn(b"\n", alert)
        obj = json.loads(alert)
        self.assertEqual(list(obj), ["alert", "topic", "tst", "payload"])
        self.assertEqual(obj["alert"], when)
        self.assertEqual(obj["topic"], "lab/accel/raw")
        payload = obj["payload"] if isinstance(obj["payload"], dict) else json.loads(obj["payload"])
        self.assertEqual(payload, json.loads(fields_json(first)))
        self.assertIn(fields_json(first), alert.decode(), "numbers kept as written")

    def test_alert_template_placeholders(self):
        sub = self.counter("t/alert", 1)
        r = self.run_tool("mqtk-pub", "-l", "-t", "t/data", "--alert-topic", "t/alert", "--alert-when", ".v > 1",
                          "--alert-message", "{{ {topic} {payload} {.v} {.name} }}",
                          input=b'{"v":0,"name":"a"}\n{"v":2.50,"name":"b"}\n')
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.sentinel_lines(sub, "t/alert"), [b'{ t/data {"v":2.50,"name":"b"} 2.50 b }'])

    def test_alerts_only_without_topic(self):
        data = "".join(x + "\n" for x in sim_lines(*self.SIM.split())).encode()
        everything = self.counter("#", 6)
        r = self.run_tool("mqtk-pub", "-l", "--fields", "ax,ay,az", "--alert-topic", "only/alerts",
                          "--alert-when", f"{MAGNITUDE} > 12", "--edge", "--alert-message", "x", input=data)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.sentinel_lines(everything, "only/alerts"), [b"x"] * 6)

    def test_sub_raises_alerts(self):
        lines = sim_lines(*self.SIM.split())
        data = "".join(x + "\n" for x in lines).encode()
        alerts = self.counter("lab/accel/alert", 6)
        watcher = self.spawn_sub("-t", "lab/accel/raw", "--where", "abs(.ax) > 1.5", "-C", "18",
                                 "--alert-topic", "lab/accel/alert", "--alert-when", "abs(.ax) > 1.5", "--edge",
                                 "--alert-message", "{topic} {.ax}")
        r = self.run_tool("mqtk-pub", "-l", "-t", "lab/accel/raw", "--fields", "ax,ay,az", input=data)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(watcher)
        self.assertEqual((rc, err), (0, b""))
        shaking = [fields_json(x) for x in lines if abs(float(x.split(",")[0])) > 1.5]
        self.assertEqual(out.decode().splitlines(), shaking)
        firsts = [x for i, x in enumerate(lines) if magnitude(x) > 12 and magnitude(lines[i - 1]) <= 12]
        self.assertEqual(self.sentinel_lines(alerts, "lab/accel/alert"),
                         [f"lab/accel/raw {x.split(',')[0]}".encode() for x in firsts])


    def test_edge_per_topic_and_shared(self):
        # Two boards shaking at once under one wildcard subscription: --edge
        # alerts once per board, unless --shared-alert-state.
        for shared, expected in ((False, [b"lab/s1/accel", b"lab/s2/accel"]), (True, [b"lab/s1/accel"])):
            with self.subTest(shared=shared):
                alerts = self.counter("lab/alerts", len(expected))
                args = ["-t", "lab/+/accel", "-C", "4", "--alert-topic", "lab/alerts", "--alert-when", ".ax > 5",
                        "--edge", "--alert-message", "{topic}"] + (["--shared-alert-state"] if shared else [])
                watcher = self.spawn_sub(*args)
                for topic in ("lab/s1/accel", "lab/s2/accel", "lab/s1/accel", "lab/s2/accel"):
                    r = self.run_tool("mqtk-pub", "-t", topic, "-m", '{"ax":7.5}')
                    self.assertEqual(r.returncode, 0, r.stderr)
                rc, _, err = self.finish(watcher)
                self.assertEqual((rc, err), (0, b""))
                self.assertEqual(self.sentinel_lines(alerts, "lab/alerts"), expected)


    def test_cooldown_summary_names_the_topics(self):
        watcher = self.spawn_sub("-t", "lab/+/accel", "-C", "6", "--alert-topic", "lab/alerts", "--alert-when",
                                 ".ax > 5", "--cooldown", "3600")
        for topic in ("lab/s1/accel", "lab/s2/accel") * 3:
            r = self.run_tool("mqtk-pub", "-t", topic, "-m", '{"ax":7.5}')
            self.assertEqual(r.returncode, 0, r.stderr)
        rc, _, err = self.finish(watcher)
        self.assertEqual((rc, err), (0, b"mqtk-sub: --cooldown held back 4 alerts on 2 topics\n"))


class WhereTest(LabTestCase):
    def where_pub(self, expr, lines, *extra, topic="w/t"):
        """Publishes lines with --where expr; returns the payloads that arrived."""
        expected_max = len(lines)
        sub = self.spawn_sub("-t", topic, "-v")
        r = self.run_tool("mqtk-pub", "-l", "-t", topic, "--where", expr, *extra,
                          input="".join(x + "\n" for x in lines).encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        self.publish_sentinel(topic)
        got = read_until_sentinel(sub.stdout)
        sub.send_signal(signal.SIGINT)
        sub.wait(timeout=30)
        self.assertLessEqual(len(got), expected_max)
        return got, r

    def test_expression_language(self):
        cases = [
            (". > 5", ["1", "7", "abc", "10", "5", "-6"], ["7", "10"]),
            ("payload == 5", ["5", "5.0", "5e0", "x", "6"], ["5", "5.0", "5e0"]),
            ("-. > 5", ["-7", "7"], ["-7"]),
            (". == \"abc\"", ["abc", "abd"], ["abc"]),
            (".accel.x >= 2", ['{"accel":{"x":2}}', '{"accel":{"x":1.9}}', '{"accel":{}}', "2", "{bad"],
             ['{"accel":{"x":2}}']),
            (".values[2] < 0", ['{"values":[1,2,-3]}', '{"values":[1,2]}', '{"values":[-1,-2,3]}'],
             ['{"values":[1,2,-3]}']),
            ('.["odd key"] != 1', ['{"odd key":2}', '{"odd key":1}', '{"other":2}'], ['{"odd key":2}']),
            ("exists(.a.b)", ['{"a":{"b":null}}', '{"a":{}}', '{"a":1}'], ['{"a":{"b":null}}']),
            ("not exists(.a)", ['{"a":1}', '{"b":1}'], ['{"b":1}']),
            ("min(.x, .y) > 1 && max(.x, .y) < 10", ['{"x":2,"y":9}', '{"x":1,"y":9}', '{"x":2,"y":10}'],
             ['{"x":2,"y":9}']),
            ("(.x + 1) * 2 / 4 - 1 == 1 || !(.x < 100)", ['{"x":3}', '{"x":4}', '{"x":100}'],
             ['{"x":3}', '{"x":100}']),
            ("sqrt(abs(.x)) == 3 and topic == \"w/t\" and qos == 0 and not retain",
             ['{"x":-9}', '{"x":9}', '{"x":8}'], ['{"x":-9}', '{"x":9}']),
        ]
        for expr, lines, expected in cases:
            with self.subTest(expr):
                got, r = self.where_pub(expr, lines)
                self.assertEqual(got, expected)
                self.assertEqual(r.stderr, b"")

    def test_sub_where_counts_only_matches(self):
        sub = self.spawn_sub("-t", "w/n", "--where", ". > 7", "-C", "2")
        r = self.run_tool("mqtk-pub", "-l", "-t", "w/n", input=b"".join(b"%d\n" % i for i in range(1, 11)))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.finish(sub), (0, b"8\n9\n", b""))

    def test_malformed_where_exits_1_before_connecting(self):
        for name, args in [("pub", ["-l", "-t", "x", "--where", ".x >"]),
                           ("pub", ["-t", "x", "-m", "1", "--where", ".x >"]),
                           ("sub", ["-t", "x", "--where", ".x >"])]:
            with self.subTest(name=name, args=args):
                r = self.run_tool(f"mqtk-{name}", *args, input=b"1\n")
                self.assert_usage_error(r, "--where: expected a value at column 5: .x >")
        for args in (["--alert-topic", "a", "--alert-when", "abs(.x"],
                     ["--alert-topic", "a", "--alert-when", ".x > 1", "--rearm", ".x <"],
                     ["--where", "nosuch(.x) > 1"], ["--where", ".x >> 1"]):
            with self.subTest(args=args):
                r = self.run_tool("mqtk-pub", "-l", "-t", "x", *args, input=b"1\n")
                self.assert_usage_error(r)
        self.assert_no_connection()
        self.assert_nothing_published()

    def test_empty_expressions_are_usage_errors(self):
        # An empty --where must not silently mean "no filter".
        for empty in ("", "   "):
            for name, args in [("pub", ["-t", "x", "-m", "1", "--where", empty]),
                               ("sub", ["-t", "x", "-W", "1", "--where", empty]),
                               ("pub", ["-t", "x", "-m", "1", "--alert-topic", "a", "--alert-when", empty]),
                               ("pub", ["-t", "x", "-m", "1", "--alert-topic", "a", "--alert-when", ".x > 1",
                                        "--rearm", empty])]:
                with self.subTest(empty=empty, args=args):
                    r = self.run_tool(f"mqtk-{name}", *args)
                    self.assert_usage_error(r, "empty expression")
        self.assert_no_connection()

    def test_fields_without_l_is_a_usage_error(self):
        r = self.run_tool("mqtk-pub", "-t", "x", "-m", "1,2,3", "--fields", "ax,ay,az")
        self.assert_usage_error(r, "--fields")
        self.assert_no_connection()

    def test_wrong_field_count_lines_are_skipped_and_warned(self):
        sub = self.counter("f/x", 3)
        data = b"1,2,3\n1,2\n\n4 5 6\n   \n7, 8 ,9,10\n-1.50,nan,x\n"
        r = self.run_tool("mqtk-pub", "-l", "-t", "f/x", "--fields", "ax,ay,az", input=data)
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode().splitlines()
        self.assertEqual(err[:2], ["mqtk-pub: line 2: expected 3 fields (ax,ay,az), got 2; skipped",
                                   "mqtk-pub: line 6: expected 3 fields (ax,ay,az), got 4; skipped"])
        self.assertEqual(len(err), 3, "then one summary line")
        self.assertIn("2", err[2])
        self.assertIn("skipped", err[2])
        self.assertEqual(self.sentinel_lines(sub, "f/x"), [b'{"ax":1,"ay":2,"az":3}', b'{"ax":4,"ay":5,"az":6}',
                                                           b'{"ax":-1.50,"ay":"nan","az":"x"}'])

    def test_header_line(self):
        header_sim = [sys.executable, ACCEL_SIM, "--header", "--count", "3", "--rate", "0", "--seed", "3"]
        data = subprocess.run(header_sim, capture_output=True, check=True, timeout=TIMEOUT).stdout
        rows = data.decode().splitlines()
        self.assertEqual(rows[0], "ax,ay,az")

        def objects(*names):
            return [("{" + ",".join(f'"{n}":{v}' for n, v in zip(names, row.split(","))) + "}").encode()
                    for row in rows[1:]]

        with self.subTest("without --fields: the header names the fields"):
            sub = self.counter("hdr/a", 3)
            r = self.run_tool("mqtk-pub", "-l", "-t", "hdr/a", "--header", input=data)
            self.assertEqual((r.returncode, r.stderr), (0, b""))
            self.assertEqual(self.sentinel_lines(sub, "hdr/a"), objects("ax", "ay", "az"))
        with self.subTest("with --fields (space-separated): the header is skipped"):
            sub = self.counter("hdr/b", 3)
            r = self.run_tool("mqtk-pub", "-l", "-t", "hdr/b", "--header", "--fields", "x y z", input=data)
            self.assertEqual((r.returncode, r.stderr), (0, b""))
            self.assertEqual(self.sentinel_lines(sub, "hdr/b"), objects("x", "y", "z"))
        with self.subTest("a spreadsheet's CSV: byte order mark, CRLF, spaces"):
            sub = self.counter("hdr/c", 1)
            r = self.run_tool("mqtk-pub", "-l", "-t", "hdr/c", "--header",
                              input=b"\xef\xbb\xbfax, ay\r\n1.5, 2\r\n")
            self.assertEqual((r.returncode, r.stderr), (0, b""))
            self.assertEqual(self.sentinel_lines(sub, "hdr/c"), [b'{"ax":1.5,"ay":2}'])
        with self.subTest("blank lines before the header, names in quotes"):
            sub = self.counter("hdr/q", 1)
            r = self.run_tool("mqtk-pub", "-l", "-t", "hdr/q", "--header", input=b'\n  \n"x","y"\n1,2\n')
            self.assertEqual((r.returncode, r.stderr), (0, b""))
            self.assertEqual(self.sentinel_lines(sub, "hdr/q"), [b'{"x":1,"y":2}'])
        with self.subTest("a bad header publishes nothing"):
            before = self.broker.log().count("Received PUBLISH")
            r = self.run_tool("mqtk-pub", "-l", "-t", "hdr/d", "--header", input=b"ax,ax\n1,2\n")
            self.assertEqual(r.returncode, 1)
            self.assertEqual(r.stderr, b"mqtk-pub: --header line: duplicate field name 'ax'\n")
            self.assertEqual(self.broker.log().count("Received PUBLISH"), before)
        with self.subTest("--header needs -l"):
            r = self.run_tool("mqtk-pub", "-t", "hdr/e", "-m", "1", "--header")
            self.assert_usage_error(r, "--header works on lines: use it with -l")

    def test_crlf_lines(self):
        sub = self.counter("crlf", 2)
        data = b"1.5,2,3\r\n0,0,0\r\n-2,1,3\r\n"
        r = self.run_tool("mqtk-pub", "-l", "-t", "crlf", "--fields", "ax,ay,az", "--where", ".az == 3",
                          input=data)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.sentinel_lines(sub, "crlf"),
                         [b'{"ax":1.5,"ay":2,"az":3}', b'{"ax":-2,"ay":1,"az":3}'])

    def test_one_megabyte_lines(self):
        pad = "a" * (1 << 20)
        big_match = f'{{"x":5,"pad":"{pad}"}}'
        big_other = f'{{"x":0,"pad":"{pad}"}}'
        not_json = "b" * (1 << 20)
        sub = self.counter("big", 2)
        r = self.run_tool("mqtk-pub", "-l", "-t", "big", "--where", ".x > 1", "-q", "1",
                          input=f"{big_other}\n{not_json}\n{big_match}\n{{\"x\":2}}\n".encode())
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.sentinel_lines(sub, "big"), [big_match.encode(), b'{"x":2}'])

    def test_rate_limit_drops_and_counts(self):
        n = 200
        sub = self.spawn_sub("-t", "rate", "-v")
        r = self.run_tool("mqtk-pub", "-l", "-t", "rate", "--rate", "5",
                          input=b"".join(b"%d\n" % i for i in range(n)))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.publish_sentinel("rate")
        got = read_until_sentinel(sub.stdout)
        self.assertGreaterEqual(len(got), 1)
        self.assertLess(len(got), n, "a burst of 200 lines at 5/s loses most of them")
        # The kept ones are in order; the drops are counted in one summary line.
        self.assertEqual(got, sorted(got, key=int))
        self.assertEqual(r.stderr, b"mqtk-pub: --rate dropped %d messages\n" % (n - len(got)))


class ExecTest(LabTestCase):
    def test_exec_per_matching_message_with_env(self):
        out = os.path.join(self.tmp, "out.txt")
        script = 'printf "%s %s %s " "$MQTT_TOPIC" "$MQTT_QOS" "$MQTT_RETAIN" >> "$OUT"; cat >> "$OUT"; echo >> "$OUT"'
        sub = self.spawn_sub("-t", "lab/door", "-q", "1", "--where", ". == 1", "--exec", "sh", "-c", script,
                             extra_env={"OUT": out})
        sim = ["--door", "--count", "60", "--rate", "0", "--seed", "31"]
        opens = sim_lines(*sim).count("1")
        r = subprocess.run(f"{shlex.quote(sys.executable)} {shlex.quote(ACCEL_SIM)} {' '.join(sim)}"
                           f" | {shlex.quote(tool('mqtk-pub'))} -p {self.port} -l -q 1 -t lab/door",
                           shell=True, capture_output=True, cwd=self.cwd, timeout=60)
        self.assertEqual((r.returncode, r.stderr), (0, b""))

        def lines():
            try:
                with open(out) as f:
                    return f.read().splitlines()
            except FileNotFoundError:
                return []
        wait_for(lambda: len(lines()) >= opens, what=f"{opens} --exec runs")
        sub.send_signal(signal.SIGINT)
        rc, stdout, err = self.finish(sub)
        self.assertEqual((rc, err), (0, b""))
        self.assertEqual(stdout, b"1\n" * opens)
        self.assertEqual(lines(), ["lab/door 1 0 1"] * opens)

    def test_exec_jobs_in_parallel(self):
        outdir = os.path.join(self.tmp, "jobs")
        os.mkdir(outdir)
        # Each child writes its own file and waits until 4 files exist: only
        # possible when 4 children run at once.
        script = ('cat > "$D/$$"; n=0; while [ "$(ls "$D" | wc -l)" -lt 4 ] && [ $n -lt 3000 ]; do '
                  'sleep 0.01; n=$((n+1)); done; [ $n -lt 3000 ]')
        sub = self.spawn_sub("-t", "jobs", "-C", "4", "--exec-jobs", "4", "--exec", "sh", "-c", script,
                             extra_env={"D": outdir})
        r = self.run_tool("mqtk-pub", "-l", "-t", "jobs", input=b"a\nb\nc\nd\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub, timeout=60)
        self.assertEqual((rc, err), (0, b""), "all four ran at once and succeeded")
        contents = []
        for name in os.listdir(outdir):
            with open(os.path.join(outdir, name)) as f:
                contents.append(f.read())
        contents.sort()
        self.assertEqual(contents, ["a", "b", "c", "d"])

    def test_failing_exec_is_reported_not_fatal(self):
        sub = self.spawn_sub("-t", "fail", "-C", "3", "--exec", "sh", "-c", "cat >/dev/null; exit 3")
        r = self.run_tool("mqtk-pub", "-l", "-t", "fail", input=b"x\ny\nz\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, b"x\ny\nz\n")
        err_lines = err.decode().splitlines()
        self.assertEqual(sum("status 3" in x for x in err_lines), 3, err)
        self.assertNotIn("terminate called", err.decode())

    def test_missing_exec_command_is_reported_not_fatal(self):
        sub = self.spawn_sub("-t", "nocmd", "-C", "2", "--exec", "mqtk-no-such-command-xyz", "arg")
        r = self.run_tool("mqtk-pub", "-l", "-t", "nocmd", input=b"1\n2\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out), (0, b"1\n2\n"), err)
        self.assertEqual(err.decode().count("mqtk-no-such-command-xyz"), 2, err)

    def test_exec_child_gets_the_original_scheduling(self):
        # mqtk keeps its own threads on one CPU with SCHED_BATCH
        # (lib/mqtk/paho/thread_scheduling.hpp); the commands it starts must not inherit that.
        policies = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_BATCH: "SCHED_BATCH", os.SCHED_IDLE: "SCHED_IDLE",
                    os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
        expected = f"{len(os.sched_getaffinity(0))} {policies[os.sched_getscheduler(0)]}".encode()
        script = "cat >/dev/null; printf '%s ' \"$(nproc)\"; chrt -p $$ | sed -n 's/.*policy: //p'"
        sub = self.spawn_sub("-t", "cpus", "-C", "1", "--exec", "sh", "-c", script)
        r = self.run_tool("mqtk-pub", "-t", "cpus", "-m", "x")
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, err), (0, b""))
        self.assertIn(expected + b"\n", out)

    def test_exec_must_have_a_command(self):
        r = self.run_tool("mqtk-sub", "-t", "x", "--exec")
        self.assert_usage_error(r, "--exec")
        self.assert_no_connection()


if __name__ == "__main__":
    unittest.main()
