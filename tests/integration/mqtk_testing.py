"""Fixtures for mqtk's integration tests: a real mosquitto per test on a free
loopback port, and helpers that run the built binaries as a user would."""

import atexit
import getpass
import itertools
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

BIN_DIR = os.environ.get("MQTK_BIN_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PUB = shutil.which("mosquitto_pub") or "/usr/bin/mosquitto_pub"
MOSQUITTO_SUB = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
TMUX = shutil.which("tmux") or "/usr/bin/tmux"
# No tool run by a test reads the config file of whoever runs the tests
# (mqtk(1) CONFIG FILE): the default one is looked for in an empty directory.
os.environ.pop("MQTK_CONFIG", None)
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="mqtk-no-config-")
atexit.register(shutil.rmtree, os.environ["XDG_CONFIG_HOME"], True)
# How much slower than a plain build the binaries under test run: scripts/sanitize
# sets it for its builds (ASan and UBSan 3, TSan 5); every bound on a tool's
# time below and in the tests is scaled by it.
TIME_FACTOR = float(os.environ.get("MQTK_TEST_TIME_FACTOR", "1"))
# Generous bounds: these are limits for a hung process, not expected times.
TIMEOUT = float(os.environ.get("MQTK_TEST_TIMEOUT", "30")) * TIME_FACTOR


def scaled(seconds):
    """A bound of `seconds` on a plain build, for the build under test."""
    return seconds * TIME_FACTOR


def tool(name):
    return os.path.join(BIN_DIR, name)


def sanitizer_build():
    """Whether the tools under test were built with a sanitizer (MQTK_SANITIZE):
    they then need its runtime library."""
    readelf = shutil.which("readelf") or "/usr/bin/readelf"
    r = subprocess.run([readelf, "-d", tool("mqtk-pub")], capture_output=True, check=True, timeout=TIMEOUT)
    return any(lib in r.stdout for lib in (b"libasan", b"libtsan", b"libubsan"))


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout=TIMEOUT, what="condition"):
    """Polls `predicate` until it is true; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


class Broker:
    """A mosquitto on 127.0.0.1 and a free port, with its own config and log
    in a temporary directory."""

    def __init__(self, extra_config="", allow_anonymous=True, passwords=None):
        self.dir = tempfile.mkdtemp(prefix="mqtk-broker-")
        self.log_path = os.path.join(self.dir, "mosquitto.log")
        lines = [
            "per_listener_settings false",
            # Run as whoever runs the tests (mosquitto started as root would
            # otherwise switch to the 'mosquitto' user and lose its log).
            f"user {getpass.getuser()}",
            f"allow_anonymous {'true' if allow_anonymous else 'false'}",
            "persistence false",
            f"log_dest file {self.log_path}",
            "log_type all",
            "connection_messages true",
            "max_queued_messages 0",
        ]
        if passwords:
            pw = os.path.join(self.dir, "passwd")
            with open(pw, "w") as f:
                for user, password in passwords.items():
                    f.write(f"{user}:{password}\n")
            os.chmod(pw, 0o600)
            subprocess.run(["mosquitto_passwd", "-U", pw], check=True, capture_output=True)
            lines.append(f"password_file {pw}")
        self.port = None
        self.proc = None
        self.extra = extra_config
        self.base_lines = lines

    def start(self):
        for _attempt in range(5):
            self.port = free_port()
            conf = os.path.join(self.dir, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write(f"listener {self.port} 127.0.0.1\n")
                f.write("\n".join(self.base_lines) + "\n" + self.extra + "\n")
            self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE)
            try:
                wait_for(lambda: self._accepts() or self.proc.poll() is not None, what="mosquitto to listen")
            except AssertionError:
                self.stop()
                raise
            if self.proc.poll() is None:
                return self
            # Lost the race for the port to another process: try another.
        raise AssertionError("mosquitto did not start:\n" + self.log())

    def restart(self, extra_config=None):
        """Stops the broker and starts it again on the same port (with
        `persistence true` in extra_config it keeps sessions and queued
        messages across), optionally with another extra config."""
        self.stop()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        if extra_config is not None:
            self.extra = extra_config
        conf = os.path.join(self.dir, "mosquitto.conf")
        with open(conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\n")
            f.write("\n".join(self.base_lines) + "\n" + self.extra + "\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for(lambda: self._accepts() or self.proc.poll() is not None, what="mosquitto to listen again")
        if self.proc.poll() is not None:
            raise AssertionError("mosquitto did not start again:\n" + self.log())
        return self

    def _accepts(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def log(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return "(no broker log)"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class BrokerTestCase(unittest.TestCase):
    """Each test gets a fresh broker (self.broker, self.port) and a fresh
    empty working directory (self.cwd) that must stay empty."""

    broker_options = {}

    def setUp(self):
        self.broker = Broker(**self.broker_options).start()
        self.port = str(self.broker.port)
        self.cwd = tempfile.mkdtemp(prefix="mqtk-cwd-")
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            for stream in (p.stdin, p.stdout, p.stderr):
                if stream:
                    try:
                        stream.close()
                    except (OSError, ValueError):
                        pass
        # This test's outcome only (result.failures accumulates over the run).
        failed = getattr(self._outcome, "success", True) is False or any(
            e for _, e in getattr(self._outcome, "errors", []) if e)
        if failed:
            print(f"\n--- broker log ({self.id()}) ---\n{self.broker.log()}\n--- end of broker log ---")
        leftovers = os.listdir(self.cwd)
        shutil.rmtree(self.cwd, ignore_errors=True)
        self.broker.cleanup()
        self.assertEqual(leftovers, [], "a tool wrote files into the working directory")

    # Running the tools -------------------------------------------------
    def run_tool(self, name, *args, input=None, timeout=TIMEOUT, port=True):
        argv = [tool(name)] + (["-p", self.port] if port else []) + list(args)
        return subprocess.run(argv, input=input, capture_output=True, timeout=timeout, cwd=self.cwd)

    def run_cmd(self, argv, input=None, timeout=TIMEOUT):
        return subprocess.run(argv, input=input, capture_output=True, timeout=timeout, cwd=self.cwd)

    def spawn(self, argv, stdin=None, stdout=subprocess.PIPE, **kw):
        p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, cwd=self.cwd, **kw)
        self.procs.append(p)
        return p

    def spawn_sub(self, *args, tool_name="mqtk-sub", extra_env=None):
        """Starts a subscriber and returns once the broker has its
        subscription (seen in the broker log), so nothing published after
        this call can be missed."""
        client_id = f"sub-{len(self.procs)}-{os.getpid()}"
        if tool_name == "mqtk-sub":
            argv = [tool("mqtk-sub"), "-p", self.port, "-i", client_id] + list(args)
        else:
            argv = [tool_name, "-p", self.port, "-i", client_id] + list(args)
        env = dict(os.environ, **(extra_env or {}))
        p = self.spawn(argv, env=env)
        wait_for(lambda: f"Received SUBSCRIBE from {client_id}" in self.broker.log()
                 or p.poll() is not None, what=f"{client_id} to subscribe")
        # The SUBACK follows the log line; wait for the broker to send it.
        wait_for(lambda: f"Sending SUBACK to {client_id}" in self.broker.log()
                 or p.poll() is not None, what=f"SUBACK to {client_id}")
        return p

    def finish(self, p, timeout=TIMEOUT):
        out, err = p.communicate(timeout=timeout)
        return p.returncode, out, err

    def assert_usage_error(self, result, *needles):
        self.assertEqual(result.returncode, 1, result.stderr.decode(errors="replace"))
        err = result.stderr.decode(errors="replace")
        self.assertNotIn("terminate called", err)
        self.assertNotIn("mqtt::exception", err)
        for n in needles:
            self.assertIn(n, err)

    def assert_nothing_published(self):
        self.assertNotIn("Received PUBLISH", self.broker.log())

    def assert_no_connection(self):
        self.assertNotIn("New client connected", self.broker.log())

    # More brokers and observers (for oracle tests) ------------------------
    def extra_broker(self, **options):
        """Another fresh broker for this test, cleaned up after it."""
        broker = Broker(**options).start()
        self.addCleanup(broker.cleanup)
        return broker

    def wait_subscribed(self, broker, client_id, proc):
        """Waits until `broker` has sent the SUBACK to `client_id` (or the
        process ended)."""
        wait_for(lambda: f"Sending SUBACK to {client_id}" in broker.log() or proc.poll() is not None,
                 what=f"SUBACK to {client_id}")

    def wait_gone(self, broker, client_id):
        """Waits until `broker` has seen `client_id` disconnect: everything
        it sent before has then been processed."""
        pattern = re.compile(rf"Client {re.escape(client_id)} (disconnected|closed its connection)")
        wait_for(lambda: pattern.search(broker.log()), what=f"{client_id} to disconnect")

    def observe(self, broker=None):
        """Starts an independent mosquitto_sub on '#' (QoS 2) that records
        'topic qos hexpayload' for every message reaching the broker."""
        return Observer(self, broker or self.broker)


_ids = itertools.count()

PUBLISH_LOG = re.compile(r"Received PUBLISH from (\S+) \(d\d, q(\d), r(\d), m\d+, '(.*)', \.\.\. \((\d+) bytes\)\)")


def publishes_in_log(broker, client_id):
    """(qos, retain, topic, length) of each PUBLISH `client_id` sent to `broker`."""
    return [(int(q), int(r), t, int(n)) for cid, q, r, t, n in PUBLISH_LOG.findall(broker.log()) if cid == client_id]


class Observer:
    """mosquitto_sub -t '#' -q 2 -F '%t %q %x' on a broker; collect() returns
    the lines it printed for everything published before the call."""

    SENTINEL = "zz-observer/end"

    def __init__(self, case, broker):
        self.broker = broker
        self.client_id = f"observer-{next(_ids)}-{os.getpid()}"
        self.proc = case.spawn([MOSQUITTO_SUB, "-p", str(broker.port), "-i", self.client_id, "-t", "#", "-q", "2",
                                "-F", "%t %q %x"])
        self.lines = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        case.wait_subscribed(broker, self.client_id, self.proc)
        if self.proc.poll() is not None:
            raise AssertionError("observer did not start: " + self.proc.stderr.read().decode(errors="replace"))

    def _read(self):
        for line in self.proc.stdout:
            self.lines.append(line.decode(errors="replace").rstrip("\n"))

    def collect(self):
        """Publishes a sentinel and returns the lines before it. Call once the
        publishers have disconnected (see BrokerTestCase.wait_gone)."""
        # QoS 2 like the subscription: a client prints a QoS 2 message only on
        # PUBREL, so a QoS 0/1 sentinel could overtake the last messages.
        subprocess.run([MOSQUITTO_PUB, "-p", str(self.broker.port), "-t", self.SENTINEL, "-m", "end", "-q", "2"],
                       check=True, capture_output=True, timeout=TIMEOUT)
        wait_for(lambda: any(l.startswith(self.SENTINEL + " ") for l in self.lines), what="the observer's sentinel")
        self.proc.kill()
        self.proc.wait()
        lines = list(self.lines)
        return lines[:next(i for i, l in enumerate(lines) if l.startswith(self.SENTINEL + " "))]


def read_text(path):
    """The file's text, or "" if it does not exist (yet)."""
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


class Tmux:
    """A tmux server of its own (its socket in a temporary directory), killed
    after the test and its socket removed."""

    def __init__(self, case):
        d = tempfile.mkdtemp(prefix="mqtk-tmux-")
        case.addCleanup(shutil.rmtree, d, ignore_errors=True)  # after kill (cleanups run last first)
        self.dir = d
        self.socket = os.path.join(d, "tmux.sock")
        self.env = dict(os.environ, TERM=os.environ.get("TERM") or "xterm")
        self.env.pop("TMUX", None)
        case.addCleanup(self.kill)

    def run(self, *args, check=True):
        r = subprocess.run([TMUX, "-f", "/dev/null", "-S", self.socket, *args], capture_output=True,
                           timeout=TIMEOUT, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)}: {r.stderr.decode(errors='replace')}")
        return r.stdout.decode(errors="replace")

    def kill(self):
        self.run("kill-server", check=False)

    def new(self, name, command, x=80, y=24):
        self.run("new-session", "-d", "-s", name, "-x", str(x), "-y", str(y), command)

    def new_tool(self, name, command_line, x=80, y=24):
        """A session running `command_line` under a shell that traps SIGINT
        (so Ctrl-C reaches only the tool), records the terminal modes before
        and after it, and prints EXIT=<status>; see ended()."""
        before = shlex.quote(os.path.join(self.dir, name + ".before"))
        after = shlex.quote(os.path.join(self.dir, name + ".after"))
        self.new(name, f"trap : INT; stty -g > {before}; {command_line}; echo EXIT=$?; stty -g > {after}; sleep 60",
                 x, y)

    def ended(self, case, name, code):
        """Waits for the tool of new_tool() to exit with `code` and checks
        that it gave the terminal back as it found it; returns the pane's
        text (wrapped lines joined)."""
        self.wait_screen(name, lambda s: f"EXIT={code}" in "\n".join(s), what=f"{name}: EXIT={code}")
        with open(os.path.join(self.dir, name + ".before")) as f:
            before = f.read()
        after = wait_for(lambda: read_text(os.path.join(self.dir, name + ".after")), what=f"{name}: stty after")
        case.assertEqual(after, before, f"{name}: terminal modes restored")
        case.assertEqual(self.display(name, "#{alternate_on} #{cursor_flag}"), "0 1",
                         f"{name}: normal screen and cursor back")
        return "\n".join(self.screen(name, joined=True))

    def screen(self, name, joined=False):
        """The pane's lines (with `joined`, wrapped lines joined)."""
        return self.run("capture-pane", "-p", *(["-J"] if joined else []), "-t", name).split("\n")[:-1]

    def display(self, name, fmt):
        return self.run("display", "-p", "-t", name, fmt).strip()

    def wait_screen(self, name, predicate, what, timeout=TIMEOUT):
        try:
            return wait_for(lambda: predicate(self.screen(name)), timeout=timeout, what=what)
        except AssertionError:
            raise AssertionError(f"timed out waiting for {what}; the pane shows:\n" + "\n".join(self.screen(name)))

    def tool_pid(self, name, process_name):
        """The pid of the tool the pane's shell runs (`process_name` as the
        kernel has it: the first 15 characters)."""
        shell = self.display(name, "#{pane_pid}")
        r = subprocess.run(["pgrep", "-P", shell, "-x", process_name], capture_output=True, timeout=TIMEOUT)
        pids = r.stdout.split()
        if len(pids) != 1:
            raise AssertionError(f"expected one {process_name} under pane {name}'s shell, found {pids}")
        return int(pids[0])
