"""The mqtk front command: `mqtk TOOL ARGS...` runs mqtk-TOOL (beside mqtk
first, then on PATH), passes arguments, stdin, output and the exit status
through, lists the tools, prints the versions, refuses what is not a tool."""

import os
import re
import shutil
import stat
import subprocess
import tempfile
import unittest

from mqtk_testing import TIMEOUT, BrokerTestCase, tool, wait_for

TOOLS = ("pub", "sub", "retain-clear", "sys-monitor", "bench")


def mqtk(*args, env=None, cwd=None, input=None, program=None):
    return subprocess.run([program or tool("mqtk")] + list(args), capture_output=True, timeout=TIMEOUT,
                          env=env, cwd=cwd, input=input)


def script(path, text):
    with open(path, "w") as f:
        f.write("#!/bin/sh\n" + text)
    os.chmod(path, stat.S_IRWXU)


class FrontListTest(unittest.TestCase):
    def test_help_lists_each_tool_with_the_first_line_of_its_help(self):
        r = mqtk("--help")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        out = r.stdout.decode()
        self.assertIn("Usage: mqtk TOOL [ARGS...]", out)
        listed = re.findall(r"^  (\S+) +(.+)$", out, re.M)
        self.assertEqual([name for name, _ in listed], list(TOOLS))
        for name, summary in listed:
            with self.subTest(tool=name):
                own = subprocess.run([tool("mqtk-" + name), "--help"], capture_output=True, timeout=TIMEOUT)
                self.assertEqual(own.stdout.decode().split("\n")[0], summary)

    def test_no_tool_an_unknown_tool_or_a_path_gets_the_list_and_exit_1(self):
        for args, first in (((), "mqtk: MQTT command-line tools"),
                            (("nope", "-t", "x"), "mqtk: 'nope' is not an mqtk tool (no mqtk-nope beside "),
                            (("-t", "x"), "mqtk: unknown option '-t' (options go after the tool: mqtk TOOL -t)"),
                            (("../../bin/true",), "mqtk: '../../bin/true' is not a tool name")):
            with self.subTest(args=args):
                r = mqtk(*args)
                self.assertEqual((r.returncode, r.stdout), (1, b""))
                err = r.stderr.decode()
                self.assertTrue(err.startswith(first), err)
                for name in TOOLS:
                    self.assertRegex(err, rf"\n  {re.escape(name)} ")

    def test_version_names_mqtk_paho_and_openssl(self):
        r = mqtk("--version")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertRegex(r.stdout.decode(),
                         r"^mqtk \d+\.\d+\.\d+ \(Paho MQTT C \d+\.\d+\.\d+, OpenSSL \d+\.\d+\.\d+.*\)\n$")

    def test_tool_beside_mqtk_first_then_on_path(self):
        d = tempfile.mkdtemp(prefix="mqtk-front-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        os.mkdir(os.path.join(d, "bin"))
        os.mkdir(os.path.join(d, "path"))
        front = os.path.join(d, "bin", "mqtk")
        shutil.copy(tool("mqtk"), front)
        script(os.path.join(d, "bin", "mqtk-hello"), 'echo "beside $0 [$*]"\n')
        script(os.path.join(d, "path", "mqtk-hello"), 'echo "path $0"\n')
        script(os.path.join(d, "path", "mqtk-extra"), 'echo "path $0 [$*]"; exit 7\n')
        env = dict(os.environ, PATH=os.path.join(d, "path") + os.pathsep + os.environ["PATH"])
        r = mqtk("hello", "a b", "--c", env=env, program=front)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (0, f"beside {os.path.join(d, 'bin', 'mqtk-hello')} [a b --c]\n".encode(), b""))
        r = mqtk("extra", "-x", env=env, program=front)
        self.assertEqual((r.returncode, r.stdout, r.stderr),
                         (7, f"path {os.path.join(d, 'path', 'mqtk-extra')} [-x]\n".encode(), b""))
        # Found but not runnable: named with the reason.
        os.chmod(os.path.join(d, "bin", "mqtk-hello"), stat.S_IRUSR)
        r = mqtk("hello", env=env, program=front)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stderr.decode(),
                         f"mqtk: cannot run {os.path.join(d, 'bin', 'mqtk-hello')}: Permission denied\n")


class FrontRunTest(BrokerTestCase):
    def test_runs_the_tools_with_arguments_stdin_and_exit_status(self):
        sub = self.spawn([tool("mqtk"), "sub", "-p", self.port, "-i", "front-sub", "-t", "front/#", "-v", "-C", "2"])
        self.wait_subscribed(self.broker, "front-sub", sub)
        self.assertIsNone(sub.poll())
        r = self.run_cmd([tool("mqtk"), "pub", "-p", self.port, "-t", "front/a", "-m", "one two"])
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        r = self.run_cmd([tool("mqtk"), "pub", "-p", self.port, "-t", "front/b", "-l"], input=b"line\n")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"front/a one two\nfront/b line\n", b""))
        r = self.run_cmd([tool("mqtk"), "sub", "-p", self.port, "-t", "none", "-W", "0.2"])
        self.assertEqual((r.returncode, r.stdout, r.stderr), (27, b"", b"mqtk-sub: timed out after 0.2 s (-W)\n"))
        # A usage error is the tool's own, under its own name.
        before = self.broker.log().count("New client connected")
        r = self.run_cmd([tool("mqtk"), "pub", "-p", self.port, "-q", "3", "-t", "a", "-m", "x"])
        self.assert_usage_error(r, "mqtk-pub: ")
        self.assertNotIn("mqtk: ", r.stderr.decode())
        self.assertEqual(self.broker.log().count("New client connected"), before)

    def test_the_password_is_blanked_in_the_process_the_front_command_became(self):
        broker = self.extra_broker(passwords={"alice": "hunter2"})
        p = self.spawn([tool("mqtk"), "sub", "-p", str(broker.port), "-i", "front-pw", "-u", "alice",
                        "-P", "hunter2", "-t", "a"])
        self.wait_subscribed(broker, "front-pw", p)
        self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
        with open(f"/proc/{p.pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
        self.assertEqual(argv[0], b"mqtk-sub")
        self.assertIn(b"*******", argv)
        self.assertNotIn(b"hunter2", b" ".join(argv))


if __name__ == "__main__":
    unittest.main()
