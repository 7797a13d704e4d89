"""mqtk-sub --plot against a real mosquitto: the live chart under tmux (drawn
from scripts/accel-sim through mqtk-pub, one legend entry per topic with the
right current, minimum and maximum values, alerts, a resize, pause and
resume, q, SIGTERM and a lost connection, each leaving the terminal as it
was), --plot-svg off a terminal (parsed as XML: one path per series, values
in range, the legend's figures) and the usage errors, all refused before
connecting."""

import os
import re
import shlex
import signal
import subprocess
import tempfile
import shutil
import time
import unittest
import xml.etree.ElementTree as ET

from mqtk_testing import TIMEOUT, BrokerTestCase, Tmux, tool, wait_for

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ACCEL_SIM = os.path.join(ROOT, "scripts", "accel-sim")
SVG = "{http://www.w3.org/2000/svg}"
# One legend line: colour mark, topic, expression, now, min, max.
LEGEND = re.compile(r"^\S+ (\S+)  (.+?) +now +(\S+)  min +(\S+)  max +(\S+)\s*$")


def g(value):
    """A value as the chart prints it (printf's %g)."""
    return "%g" % value


class PlotTest(BrokerTestCase):
    # Helpers -------------------------------------------------------------
    def tempdir(self):
        d = tempfile.mkdtemp(prefix="mqtk-plot-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        return d

    def publish_sim(self, topic, *sim_args, port=None):
        """Pipes scripts/accel-sim into mqtk-pub -l --fields ax,ay,az on
        `topic` (QoS 1) and returns the (ax, ay, az) rows it published: the
        same seed prints the same lines."""
        args = ["--rate", "0", *sim_args]
        rows = [tuple(float(v) for v in line.split(","))
                for line in subprocess.run([ACCEL_SIM, *args], capture_output=True, check=True,
                                           timeout=TIMEOUT).stdout.decode().split()]
        sim = subprocess.Popen([ACCEL_SIM, *args], stdout=subprocess.PIPE)
        pub = subprocess.run([tool("mqtk-pub"), "-p", str(port or self.port), "-l", "-q", "1", "-t", topic,
                              "--fields", "ax,ay,az"], stdin=sim.stdout, capture_output=True, timeout=TIMEOUT,
                             cwd=self.cwd)
        sim.stdout.close()
        sim.wait(timeout=TIMEOUT)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        return rows

    def legend(self, screen):
        """{(topic, expression): (now, min, max)} from a captured screen."""
        out = {}
        for line in screen:
            m = LEGEND.match(line)
            if m:
                out[(m.group(1), m.group(2))] = m.groups()[2:]
        return out

    def expect(self, rows, column):
        values = [r[column] for r in rows]
        return (g(values[-1]), g(min(values)), g(max(values)))

    # 1. The live chart under tmux -------------------------------------------
    def test_live_chart_under_tmux(self):
        tmux = Tmux(self)
        d = self.tempdir()
        sub = shlex.quote(tool("mqtk-sub"))
        lost = self.extra_broker()
        svg = os.path.join(d, "live.svg")

        live_id = f"plot-live-{os.getpid()}"
        sub = f"LANG=C.UTF-8 {sub}"
        tmux.new_tool("live", f"{sub} -p {self.port} -i {live_id} -q 1 -t 'lab/+/accel' --plot .ax "
                      f"--alert-topic lab/alerts --alert-when '.ax > 5' --edge --plot-svg {shlex.quote(svg)}")
        tmux.new_tool("term", f"{sub} -p {self.port} -t lab/x --plot .x")
        tmux.new_tool("intr", f"{sub} -p {self.port} -t lab/x --plot .x")
        tmux.new_tool("lost", f"{sub} -p {lost.port} -t lab/x --plot .x --no-reconnect")

        def waiting(s):
            return s[0].rstrip().endswith(" live") and any("no values yet" in l for l in s)

        for name in ("live", "term", "intr", "lost"):
            tmux.wait_screen(name, waiting, what=f"{name}: the chart, waiting for values")
        self.assertEqual(tmux.display("live", "#{alternate_on} #{cursor_flag}"), "1 0")
        screen = tmux.screen("live")
        self.assertEqual(len(screen), 24)
        self.assertTrue(screen[0].startswith(f"mqtk-sub  localhost:{self.port}  lab/+/accel"), screen[0])
        self.assertEqual(screen[0].rstrip().rindex("live"), 80 - 4 - 1)
        self.assertEqual(screen[-1].rstrip(), "q quit  space pause   window 60 s")

        # Two students' boards: s1 shakes every 100 readings, s2 lies still.
        # s1 first, completely: the --edge state is shared by every topic.
        s1 = self.publish_sim("lab/s1/accel", "--seed", "1", "--count", "400", "--spike-every", "100")
        expected_s1 = self.expect(s1, 0)
        tmux.wait_screen("live", lambda s: self.legend(s).get(("lab/s1/accel", ".ax")) == expected_s1,
                         what=f"s1's legend entry {expected_s1}")
        s2 = self.publish_sim("lab/s2/accel", "--seed", "2", "--count", "300")
        expected_s2 = self.expect(s2, 0)
        screen = tmux.wait_screen("live", lambda s: s if self.legend(s).get(("lab/s2/accel", ".ax")) == expected_s2
                                  else None, what=f"s2's legend entry {expected_s2}")
        self.assertEqual(self.legend(screen), {("lab/s1/accel", ".ax"): expected_s1,
                                               ("lab/s2/accel", ".ax"): expected_s2})
        # Every rising edge of ax > 5 among s1's readings is an alert, marked
        # on the time axis and counted on the last line.
        alerts = sum(1 for i, r in enumerate(s1) if r[0] > 5 and (i == 0 or s1[i - 1][0] <= 5))
        self.assertGreater(alerts, 0)
        self.assertIn(f"alerts {alerts}", screen[-1])
        axis = next(l for l in screen if "\u2514" in l)
        self.assertIn("\u25b2", axis)
        labels = screen[screen.index(axis) + 1]
        self.assertTrue(labels.lstrip().startswith("-60s"), labels)
        self.assertTrue(labels.rstrip().endswith("now"), labels)
        # Braille dots in the chart, a y axis with round values spanning
        # s1's shake.
        chart = screen[1:screen.index(axis)]
        self.assertTrue(any(0x2800 < ord(c) <= 0x28FF for l in chart for c in l))
        ticks = [float(m.group(1)) for l in chart for m in [re.match(r"^\s*(-?[0-9.]+)\u2524", l)] if m]
        self.assertGreaterEqual(len(ticks), 2)
        self.assertLessEqual(max(ticks), max(r[0] for r in s1) * 1.06 + 1)
        self.assertGreaterEqual(min(ticks), min(r[0] for r in s1) * 1.06 - 1)

        # A resize: redrawn at the new size.
        tmux.run("resize-window", "-t", "live", "-x", "100", "-y", "30")
        screen = tmux.wait_screen("live", lambda s: s if len(s) == 30 and s[0].rstrip().endswith(" live")
                                  and s[0].rstrip().rindex("live") == 100 - 4 - 1
                                  and s[-1].startswith("q quit") and len(self.legend(s)) == 2 else None,
                                  what="the chart redrawn at 100x30")
        self.assertTrue(all(len(l) <= 100 for l in screen))

        # Space pauses: what arrives meanwhile is kept but not drawn.
        tmux.run("send-keys", "-t", "live", " ")
        paused = tmux.wait_screen("live", lambda s: s if s[0].rstrip().endswith(" PAUSED") else None, what="PAUSED")
        self.assertTrue(paused[-1].startswith("q quit  space resume"), paused[-1])
        s3 = self.publish_sim("lab/s3/accel", "--seed", "3", "--count", "50")
        wait_for(lambda: self.broker.log().count(f"Sending PUBLISH to {live_id} ") >= 400 + 300 + 50,
                 what="s3 delivered to the chart")
        # A bounded negative check: five redraws' time with nothing new shown.
        time.sleep(1.0)
        self.assertEqual(tmux.screen("live"), paused)
        tmux.run("send-keys", "-t", "live", " ")
        expected_s3 = self.expect(s3, 0)
        tmux.wait_screen("live", lambda s: s[0].rstrip().endswith(" live")
                         and self.legend(s).get(("lab/s3/accel", ".ax")) == expected_s3,
                         what="resumed, with s3")

        with self.subTest("q, and the SVG written at exit"):
            tmux.run("send-keys", "-t", "live", "q")
            tmux.ended(self, "live", 0)
            root = ET.parse(svg).getroot()
            paths = {p.get("data-topic"): p for p in root.iter(SVG + "path") if p.get("class") == "series"}
            self.assertEqual(sorted(paths), ["lab/s1/accel", "lab/s2/accel", "lab/s3/accel"])
            self.assertEqual(paths["lab/s1/accel"].get("data-points"), "400")
            self.assertEqual(len([l for l in root.iter(SVG + "line") if l.get("class") == "alert"]), alerts)
        with self.subTest("SIGTERM"):
            os.kill(tmux.tool_pid("term", "mqtk-sub"), signal.SIGTERM)
            tmux.ended(self, "term", 0)
        with self.subTest("Ctrl-C"):
            tmux.run("send-keys", "-t", "intr", "C-c")
            tmux.ended(self, "intr", 0)
        with self.subTest("lost connection"):
            lost.stop()
            shown = tmux.ended(self, "lost", 1)
            self.assertIn(f"mqtk-sub: lost the connection to localhost:{lost.port}", shown)

    # 2. --plot-svg off a terminal --------------------------------------------
    def test_svg_off_a_terminal(self):
        d = self.tempdir()
        svg = os.path.join(d, "lab.svg")
        magnitude = "sqrt(.ax*.ax+.ay*.ay+.az*.az)"
        p = self.spawn_sub("-q", "1", "-t", "lab/+/accel", "--plot", f".ax,{magnitude}", "--plot-svg", svg,
                           "-C", "600", "-v")
        s1 = self.publish_sim("lab/s1/accel", "--seed", "4", "--count", "300", "--spike-every", "50")
        s2 = self.publish_sim("lab/s2/accel", "--seed", "5", "--count", "300")
        code, out, err = self.finish(p)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, b"")
        # Off a terminal the messages are printed as usual too.
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 600)
        self.assertTrue(lines[0].startswith("lab/s1/accel {"), lines[0])

        root = ET.parse(svg).getroot()
        self.assertEqual(root.tag, SVG + "svg")
        area = next(e for e in root.iter(SVG + "g") if e.get("class") == "plot-area")
        x0, y0 = float(area.get("data-x")), float(area.get("data-y"))
        w, h = float(area.get("data-width")), float(area.get("data-height"))
        vmin, vmax = float(area.get("data-value-min")), float(area.get("data-value-max"))
        texts = ["".join(t.itertext()) for t in root.iter(SVG + "text")]
        self.assertIn("time (s)", texts)
        paths = [p for p in root.iter(SVG + "path") if p.get("class") == "series"]
        self.assertEqual(sorted((p.get("data-topic"), p.get("data-expression")) for p in paths),
                         [("lab/s1/accel", ".ax"), ("lab/s1/accel", magnitude),
                          ("lab/s2/accel", ".ax"), ("lab/s2/accel", magnitude)])
        self.assertEqual(len({p.get("stroke") for p in paths}), 4, "one colour per series")
        rows = {"lab/s1/accel": s1, "lab/s2/accel": s2}
        for path in paths:
            topic, expression = path.get("data-topic"), path.get("data-expression")
            values = [r[0] if expression == ".ax" else (r[0] ** 2 + r[1] ** 2 + r[2] ** 2) ** 0.5
                      for r in rows[topic]]
            with self.subTest(topic=topic, expression=expression):
                self.assertEqual(path.get("data-points"), "300")
                self.assertAlmostEqual(float(path.get("data-min")), min(values), places=9)
                self.assertAlmostEqual(float(path.get("data-max")), max(values), places=9)
                self.assertIn(f"min {g(min(values))}", " ".join(t for t in texts if t.startswith(topic)
                                                                 and expression in t))
                # Every point, mapped back to a value, is one the series had
                # (to within a pixel), and inside the plot area.
                pixel = (vmax - vmin) / h
                points = re.findall(r"(-?[0-9.]+),(-?[0-9.]+)", path.get("d"))
                self.assertGreaterEqual(len(points), 2)
                for xs, ys in points:
                    x, y = float(xs), float(ys)
                    self.assertTrue(x0 <= x <= x0 + w, x)
                    value = vmax - (y - y0) / h * (vmax - vmin)
                    self.assertGreaterEqual(value, min(values) - pixel)
                    self.assertLessEqual(value, max(values) + pixel)

    def test_svg_after_timeout_without_values(self):
        d = self.tempdir()
        svg = os.path.join(d, "empty.svg")
        r = self.run_tool("mqtk-sub", "-t", "lab/quiet", "--plot", ".x", "--plot-svg", svg, "-W", "1")
        self.assertEqual(r.returncode, 27, r.stderr)
        root = ET.parse(svg).getroot()
        self.assertIn("no values received", ["".join(t.itertext()) for t in root.iter(SVG + "text")])
        self.assertEqual(os.listdir(d), ["empty.svg"], "no temporary file left")

    def test_svg_off_a_terminal_stays_bounded(self):
        # Off a terminal nothing redraws: quiet series must still leave, so
        # that a new topic finds room under the 64-series cap.
        d = self.tempdir()
        svg = os.path.join(d, "cap.svg")
        p = self.spawn_sub("-t", "cap/#", "--plot", ".", "--window", "1", "--plot-svg", svg, "-C", str(64 + 5))
        for i in range(64):
            self.run_tool("mqtk-pub", "-t", f"cap/{i}", "-m", str(i))
        # The window is 1 s: these 64 series are out of it once it has passed
        # (a bounded wait for time itself to pass, not for a condition).
        time.sleep(1.3)
        # In one run, so that all five fall in one window whatever a tool's
        # start costs (five runs under TSan took more than the window).
        self.run_tool("mqtk-pub", "-t", "cap/late", "-l", input=b"0\n1\n2\n3\n4\n")
        code, _, err = self.finish(p)
        self.assertEqual(code, 0, err)
        paths = [e for e in ET.parse(svg).getroot().iter(SVG + "path") if e.get("class") == "series"]
        self.assertIn("cap/late", [e.get("data-topic") for e in paths])
        late = next(e for e in paths if e.get("data-topic") == "cap/late")
        self.assertEqual(late.get("data-points"), "5")

    def run_on_pty(self, argv, env):
        """Runs a tool with stdout on a pseudo-terminal; returns (exit code, stderr)."""
        import pty
        master, slave = pty.openpty()
        try:
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                               timeout=TIMEOUT, env=env, cwd=self.cwd)
        finally:
            os.close(slave)
            os.close(master)
        return p.returncode, p.stderr.decode(errors="replace")

    def test_live_chart_refusals_on_a_terminal(self):
        # Checked before connecting: nothing is cleared or published by a run
        # that cannot draw.
        base = [tool("mqtk-sub"), "-p", self.port, "-t", "lab/x", "--plot", ".x"]
        env = dict(os.environ, TERM="no-such-terminal", LANG="C.UTF-8")
        code, err = self.run_on_pty(base + ["--remove-retained"], env)
        self.assertEqual(code, 1)
        self.assertEqual(err, "mqtk-sub: --plot: cannot drive this terminal (TERM=no-such-terminal); with "
                              "--plot-svg FILE and stdout redirected the chart goes to a file instead\n")
        env["TERM"] = "xterm"
        for extra, needle in ((["-v"], "-v has no effect under the live --plot chart"),
                              (["-j"], "-j has no effect under the live --plot chart"),
                              (["-d"], "-d cannot be used with the live --plot chart"),
                              (["--exec", "true"], "--exec cannot run under the live --plot chart")):
            with self.subTest(extra=extra):
                code, err = self.run_on_pty(base + extra, env)
                self.assertEqual(code, 1, err)
                self.assertIn(needle, err)
        self.assert_no_connection()

    # 3. Usage errors, before connecting ---------------------------------------
    def test_usage_errors(self):
        d = self.tempdir()
        svg = os.path.join(d, "x.svg")
        cases = [
            (["--plot", ".ax >"], "--plot: "),
            (["--plot", ".ax,,.ay", "--plot-svg", svg], "--plot: empty expression (item 2) in '.ax,,.ay'"),
            (["--plot", ".ax"], "--plot draws a live chart on a terminal, and stdout is not one: "
                                "add --plot-svg FILE"),
            (["--plot", ".ax", "--plot-svg", os.path.join(d, "missing", "x.svg")],
             f"--plot-svg: cannot use the directory '{os.path.join(d, 'missing')}'"),
            (["--plot", ".ax", "--plot-svg", d], f"--plot-svg: '{d}' is a directory"),
            (["--plot-svg", svg], "--plot-svg needs --plot EXPR"),
            (["--window", "5"], "--window needs --plot EXPR"),
            (["--plot", ".ax", "--plot-svg", svg, "--window", "0"], "--window: expected seconds from 1 to 86400"),
            (["--plot", ".ax", "--plot-svg", svg, "--ymin", "2", "--ymax", "1"], "--ymin (2) must be below --ymax (1)"),
            (["--plot", ".ax", "--plot-svg", svg, "-E"], "-E exits before any"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                r = self.run_tool("mqtk-sub", "-t", "lab/x", *args)
                self.assert_usage_error(r, needle)
        self.assert_no_connection()
        self.assertEqual(os.listdir(d), [])


if __name__ == "__main__":
    unittest.main()
