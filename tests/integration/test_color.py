"""--color: colour only on a terminal (a real pseudo-terminal here), never
with NO_COLOR or TERM=dumb unless --color always, never into a pipe by
default; what is coloured in each tool."""

import os
import pty
import select
import subprocess
import time

from mqtk_testing import BrokerTestCase, MOSQUITTO_PUB, TIMEOUT, tool, wait_for

RED = b"\x1b[1;31m"
RESET = b"\x1b[0m"


def run_on_terminal(argv, env_extra=None, stdout_tty=True, stderr_tty=True, timeout=TIMEOUT, cwd=None):
    """Runs argv with stdout and/or stderr on a pseudo-terminal; returns the
    exit code and what the terminal and the pipe received."""
    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm")
    env.pop("NO_COLOR", None)
    env.update(env_extra or {})
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave if stdout_tty else subprocess.PIPE,
                         stderr=slave if stderr_tty else subprocess.PIPE, env=env, cwd=cwd)
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    while True:
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            seen += chunk
        elif p.poll() is not None:
            break
        if time.monotonic() > deadline:
            p.kill()
            raise AssertionError(f"{argv} did not end; the terminal shows {seen!r}")
    piped = b""
    for stream in (p.stdout, p.stderr):
        if stream:
            piped += stream.read()
            stream.close()
    code = p.wait(TIMEOUT)
    os.close(master)
    return code, seen, piped


class ColorTest(BrokerTestCase):

    def test_error_prefix_is_red_on_a_terminal_only(self):
        argv = [tool("mqtk-pub"), "-p", "1", "-t", "t", "-m", "m"]
        code, shown, _ = run_on_terminal(argv, cwd=self.cwd)
        self.assertEqual(code, 1)
        self.assertIn(RED + b"mqtk-pub" + RESET + b": cannot connect to localhost:1", shown)
        # Piped: no colour.
        r = self.run_cmd(argv)
        self.assertTrue(r.stderr.startswith(b"mqtk-pub: cannot connect"), r.stderr)
        # --color always: also into a pipe.
        r = self.run_cmd(argv + ["--color", "always"])
        self.assertTrue(r.stderr.startswith(RED + b"mqtk-pub" + RESET + b": "), r.stderr)

    def test_no_color_dumb_terminal_and_never_turn_it_off(self):
        argv = [tool("mqtk-retain-clear"), "-p", "1", "-t", "x/#", "-y"]
        for extra_env, extra_args in (({"NO_COLOR": "1"}, []), ({"TERM": "dumb"}, []), ({}, ["--color", "never"])):
            with self.subTest(env=extra_env, args=extra_args):
                code, shown, _ = run_on_terminal(argv + extra_args, env_extra=extra_env, cwd=self.cwd)
                self.assertEqual(code, 1)
                self.assertIn(b"mqtk-retain-clear: cannot connect", shown)
                self.assertNotIn(b"\x1b[", shown)
        # --color always wins over NO_COLOR.
        code, shown, _ = run_on_terminal(argv + ["--color", "always"], env_extra={"NO_COLOR": "1"}, cwd=self.cwd)
        self.assertIn(RED + b"mqtk-retain-clear" + RESET, shown)

    def test_help_lists_color_once(self):
        for argv in (["mqtk-pub"], ["mqtk-sub"], ["mqtk-retain-clear"], ["mqtk-sys-monitor"], ["mqtk-bench"],
                     ["mqtk-bench", "pubsub"]):
            with self.subTest(argv=argv):
                r = self.run_cmd([tool(argv[0])] + argv[1:] + ["--help"])
                self.assertEqual(r.stdout.count(b"--color WHEN"), 1, r.stdout.decode())

    def test_bad_color_value_is_a_usage_error(self):
        r = self.run_tool("mqtk-sub", "-t", "x", "--color", "rainbow")
        self.assert_usage_error(r, "mqtk-sub: --color: unknown value 'rainbow' (expected auto, always or never)")
        self.assert_no_connection()

    def test_sub_verbose_topic_is_coloured_on_a_terminal(self):
        argv = [tool("mqtk-sub"), "-p", self.port, "-i", "colsub", "-t", "c/#", "-v", "-C", "1"]
        master, slave = pty.openpty()
        env = dict(os.environ, TERM="xterm")
        env.pop("NO_COLOR", None)
        p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, env=env, cwd=self.cwd)
        self.procs.append(p)
        os.close(slave)
        self.wait_subscribed(self.broker, "colsub", p)
        self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-t", "c/1", "-m", "hello"])
        seen = b""
        wait_for(lambda: p.poll() is not None, what="mqtk-sub -C 1 to end")
        while select.select([master], [], [], 0.2)[0]:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        os.close(master)
        self.assertEqual(p.returncode, 0)
        self.assertIn(b"\x1b[36mc/1\x1b[0m hello", seen)
        # Into a pipe: byte for byte mosquitto_sub's output.
        sub = self.spawn_sub("-t", "c/#", "-v", "-C", "1")
        self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-t", "c/2", "-m", "plain"])
        code, out, _ = self.finish(sub)
        self.assertEqual(out, b"c/2 plain\n")

    def test_bench_summary_and_sys_monitor_status(self):
        bench = [tool("mqtk-bench"), "pubsub", "-p", self.port, "-c", "1", "--rate", "200", "-D", "1", "--drain", "1",
                 "--no-sys"]
        r = self.run_cmd(bench + ["--color", "always"], timeout=TIMEOUT * 2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(b"\x1b[1mpubsub: "), r.stdout[:80])
        self.assertIn(b"\x1b[32mlost 0\x1b[0m", r.stdout)
        r = self.run_cmd(bench, timeout=TIMEOUT * 2)
        self.assertNotIn(b"\x1b[", r.stdout)
        sys_broker = self.extra_broker(extra_config="sys_interval 1")
        r = self.run_cmd([tool("mqtk-sys-monitor"), "-p", str(sys_broker.port), "--once", "--color", "always"],
                         timeout=TIMEOUT * 2)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith(b"MQTT BROKER \x1b[32mOK\x1b[0m - mosquitto"), r.stdout)
        r = self.run_cmd([tool("mqtk-sys-monitor"), "-p", str(sys_broker.port), "--once"], timeout=TIMEOUT * 2)
        self.assertTrue(r.stdout.startswith(b"MQTT BROKER OK - "), r.stdout)


if __name__ == "__main__":
    import unittest
    unittest.main()
