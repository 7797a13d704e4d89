"""The completions in the real shells: bash (completions/mqtk.bash) with
Debian's bash-completion loaded, zsh (completions/_mqtk) on a pseudo-terminal
with compinit, fish (completions/mqtk.fish) through its own autoloading.
Each tool's options, their values, files where a file is taken, a command and
then its arguments after --exec, never a flag that every tool refuses, never
a candidate twice, and every option of each tool's --help offered; for
mqtk-bench, its subcommands first, then each subcommand's options; for the
mqtk front command, the tools, then each tool's completions.
test_option_cross_check checks every --help option against every shell."""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

from mqtk_testing import TIMEOUT, tool
from shell_completion import BASH_COMPLETION, FISH, ZSH, bash_complete, fish_complete, zsh_complete

TOOLS = ("mqtk-pub", "mqtk-sub", "mqtk-retain-clear", "mqtk-sys-monitor")
REFUSED = ("-A", "--unix", "--proxy", "--tls-engine", "--tls-engine-kpass-sha1")
BENCH_COMMANDS = ("pub", "sub", "conn", "pubsub", "merge")
# mqtk-bench's -D is --duration, so it is offered; the others stay refused.
# -D is --duration; libmosquitto binds (-A); bench sends no properties.
BENCH_REFUSED = tuple(f for f in REFUSED if f != "-A") + ("--property",)
VERSIONS = ["31", "311", "5", "mqttv31", "mqttv311", "mqttv5"]


def help_flags(help_text):
    """The flags a --help text lists as options (not those merely mentioned)."""
    flags = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text))
    return {f for f in flags if re.search(rf"^\s+(?:-\w,)?{re.escape(f)}\b", help_text, re.M)
            or re.search(rf"^\s+{re.escape(f)},", help_text, re.M)}


def complete(line, cwd=None):
    """The candidates bash offers for `line` (the cursor at its end)."""
    return bash_complete(line, cwd=cwd)


@unittest.skipUnless(os.path.exists(BASH_COMPLETION), "bash-completion is not installed (scripts/deps installs it)")
class BashCompletionTest(unittest.TestCase):
    def test_options_of_each_tool_once_and_none_refused(self):
        for name in TOOLS:
            with self.subTest(tool=name):
                offered = complete(f"{name} -")
                self.assertEqual(len(offered), len(set(offered)), f"duplicates: {sorted(offered)}")
                for flag in REFUSED:
                    self.assertNotIn(flag, offered)
                # Every option of --help is offered.
                help_text = subprocess.run([tool(name), "--help"], capture_output=True, timeout=TIMEOUT).stdout.decode()
                helped = help_flags(help_text)
                missing = sorted(f for f in helped if f not in offered and f not in REFUSED)
                self.assertEqual(missing, [], f"{name} --help options not completed")
        self.assertEqual(complete("mqtk-sub --qo"), ["--qos"])
        self.assertEqual(complete("mqtk-pub --hea"), ["--header"])

    def test_values(self):
        self.assertEqual(complete("mqtk-sub -q "), ["0", "1", "2"])
        self.assertEqual(complete("mqtk-pub -V "), ["31", "311", "5", "mqttv31", "mqttv311", "mqttv5"])
        self.assertEqual(complete("mqtk-sub --exec-on "), ["message", "alert"])
        self.assertEqual(complete("mqtk-sys-monitor --format "), ["live", "text", "json", "prometheus"])
        self.assertEqual(complete("mqtk-pub --keyform "), ["pem"])
        self.assertEqual(complete("mqtk-sub --where "), [])  # an expression: nothing to offer

    def test_property_commands_then_names(self):
        self.assertEqual(sorted(complete("mqtk-pub -D ")), sorted(["connect", "publish", "subscribe", "unsubscribe",
                                                            "disconnect", "will"]))
        self.assertEqual(complete("mqtk-sub --property sub"), ["subscribe"])
        self.assertEqual(complete("mqtk-sub -D subscribe "), ["subscription-identifier", "user-property"])
        self.assertIn("topic-alias", complete("mqtk-pub -t a -D publish "))
        self.assertNotIn("topic-alias", complete("mqtk-pub -t a -D will "))
        self.assertEqual(complete("mqtk-pub -D publish payload-format-indicator "), ["0", "1"])
        self.assertEqual(complete("mqtk-pub -D publish user-property name "), [])
        self.assertIn("--qos", complete("mqtk-pub -D publish content-type text/plain --q"))

    def test_files(self):
        d = tempfile.mkdtemp(prefix="mqtk-compl-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        for f in ("ca.pem", "chart.svg"):
            open(os.path.join(d, f), "w").close()
        os.mkdir(os.path.join(d, "certs"))
        for line in ("mqtk-pub --cafile ", "mqtk-pub -f ", "mqtk-sub --plot-svg ", "mqtk-retain-clear --backup "):
            with self.subTest(line=line):
                self.assertEqual(sorted(complete(line, cwd=d)), ["ca.pem", "certs", "chart.svg"])
        self.assertEqual(complete("mqtk-sub --capath ", cwd=d), ["certs"])

    def test_exec_completes_a_command_then_its_arguments(self):
        self.assertIn("curl" if shutil.which("curl") else "cat", complete("mqtk-sub -t a --exec c"))
        self.assertNotIn("--qos", complete("mqtk-sub -t a --exec cat --q"))
        d = tempfile.mkdtemp(prefix="mqtk-compl-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        open(os.path.join(d, "payload.json"), "w").close()
        self.assertEqual(complete("mqtk-sub -t a --exec cat pay", cwd=d), ["payload.json"])


    def test_bench_subcommands_first(self):
        self.assertEqual(complete("mqtk-bench "), list(BENCH_COMMANDS))
        self.assertEqual(complete("mqtk-bench pub"), ["pub", "pubsub"])
        self.assertEqual(sorted(complete("mqtk-bench -")), ["--color", "--config", "--help", "--no-config", "--version"])

    def test_bench_options_of_each_subcommand_once_and_none_refused(self):
        for command in BENCH_COMMANDS:
            with self.subTest(command=command):
                offered = complete(f"mqtk-bench {command} -")
                self.assertEqual(len(offered), len(set(offered)), f"duplicates: {sorted(offered)}")
                for flag in BENCH_REFUSED:
                    self.assertNotIn(flag, offered)
                help_text = subprocess.run([tool("mqtk-bench"), command, "--help"], capture_output=True,
                                           timeout=TIMEOUT).stdout.decode()
                helped = help_flags(help_text)
                self.assertIn("--help", helped)
                self.assertEqual(sorted(f for f in helped if f not in offered and f not in BENCH_REFUSED), [],
                                 f"mqtk-bench {command} --help options not completed")
                # Nothing offered that this subcommand's --help does not list.
                self.assertEqual(sorted(f for f in offered if f not in helped), [],
                                 f"mqtk-bench {command}: options completed that --help does not list")
        self.assertIn("-D", complete("mqtk-bench pub -"))
        self.assertNotIn("--rate", complete("mqtk-bench conn -"))
        self.assertEqual(complete("mqtk-bench pubsub --sub-q"), ["--sub-qos"])
        self.assertEqual(complete("mqtk-bench pubsub --sub-qos 1 --sha"), ["--shared"])

    def test_bench_values(self):
        self.assertEqual(complete("mqtk-bench pub -q "), ["0", "1", "2"])
        self.assertEqual(complete("mqtk-bench pubsub --sub-qos "), ["0", "1", "2"])
        self.assertEqual(complete("mqtk-bench sub --qos "), ["0", "1", "2"])
        self.assertEqual(complete("mqtk-bench conn -V "), ["31", "311", "5", "mqttv31", "mqttv311", "mqttv5"])
        self.assertEqual(complete("mqtk-bench pub --slo "), [])   # free-form values: nothing to offer
        self.assertEqual(complete("mqtk-bench pub -D "), [])
        self.assertEqual(complete("mqtk-bench pub -c "), [])

    def test_bench_files(self):
        d = tempfile.mkdtemp(prefix="mqtk-compl-")
        self.addCleanup(shutil.rmtree, d, ignore_errors=True)
        for f in ("a.json", "b.json", "notes.txt"):
            open(os.path.join(d, f), "w").close()
        os.mkdir(os.path.join(d, "runs"))
        self.assertEqual(sorted(complete("mqtk-bench merge ", cwd=d)), ["a.json", "b.json", "runs"])
        self.assertEqual(sorted(complete("mqtk-bench merge a.json ", cwd=d)), ["a.json", "b.json", "runs"])
        self.assertEqual(complete("mqtk-bench merge b", cwd=d), ["b.json"])
        for line in ("mqtk-bench pub -o ", "mqtk-bench pubsub --csv ", "mqtk-bench merge --output ",
                     "mqtk-bench conn --cafile "):
            with self.subTest(line=line):
                self.assertEqual(sorted(complete(line, cwd=d)), ["a.json", "b.json", "notes.txt", "runs"])
        self.assertEqual(complete("mqtk-bench sub --capath ", cwd=d), ["runs"])
        self.assertEqual(complete("mqtk-bench pub -", cwd=d).count("--output"), 1)


# The same lines in every shell: (line, what is offered, in any order).
VALUES = (
    ("mqtk-sub -q ", ["0", "1", "2"]),
    ("mqtk-pub --qos ", ["0", "1", "2"]),
    ("mqtk-pub --will-qos ", ["0", "1", "2"]),
    ("mqtk-sub --retain-handling ", ["0", "1", "2"]),
    ("mqtk-pub -V ", VERSIONS),
    ("mqtk-retain-clear --protocol-version ", VERSIONS),
    ("mqtk-sub --tls-version ", ["tlsv1.3", "tlsv1.2", "tlsv1.1"]),
    ("mqtk-sub --exec-on ", ["message", "alert"]),
    ("mqtk-sys-monitor --format ", ["live", "text", "json", "prometheus"]),
    ("mqtk-pub --keyform ", ["pem"]),
    ("mqtk-sub --qo", ["--qos"]),
    ("mqtk-pub --hea", ["--header"]),
    ("mqtk-pub -D ", ["connect", "publish", "subscribe", "unsubscribe", "disconnect", "will"]),
    ("mqtk-sub -D subscribe ", ["subscription-identifier", "user-property"]),
    ("mqtk-pub -D publish payload-format-indicator ", ["0", "1"]),
    ("mqtk-bench ", list(BENCH_COMMANDS)),
    ("mqtk-bench pub", ["pub", "pubsub"]),
    ("mqtk-bench -", ["--color", "--config", "--help", "--no-config", "--version"]),
    ("mqtk-bench pub -q ", ["0", "1", "2"]),
    ("mqtk-sub --color ", ["auto", "always", "never"]),
    ("mqtk-bench pubsub --color ", ["auto", "always", "never"]),
    ("mqtk-bench pubsub --sub-qos ", ["0", "1", "2"]),
    ("mqtk-bench conn -V ", VERSIONS),
    ("mqtk-bench pubsub --sub-q", ["--sub-qos"]),
    ("mqtk ", ["pub", "sub", "retain-clear", "sys-monitor", "bench"]),
    ("mqtk s", ["sub", "sys-monitor"]),
    ("mqtk -", ["--help", "--version"]),
    ("mqtk --help ", []),  # nothing after --help or --version
    ("mqtk --version ", []),
    ("mqtk pub --hea", ["--header"]),
    ("mqtk sub -q ", ["0", "1", "2"]),
    ("mqtk sys-monitor --format ", ["live", "text", "json", "prometheus"]),
    ("mqtk bench ", list(BENCH_COMMANDS)),
    ("mqtk bench pubsub --sub-q", ["--sub-qos"]),
    ("mqtk bench conn -V ", VERSIONS),
)
# In a directory holding ca.pem, chart.svg, a.json and certs/.
FILES = (
    ("mqtk-pub --cafile ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk-sub --cert ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk-retain-clear --key ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk-pub -f ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk-sys-monitor --pw-file ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk-sub --config ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk-bench --config ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk-bench pub --cafile ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk pub -f ", ["a.json", "ca.pem", "certs", "chart.svg"]),
    ("mqtk sub --cafile c", ["ca.pem", "certs", "chart.svg"]),
    ("mqtk-sub --capath ", ["certs"]),
    ("mqtk-bench merge ", ["a.json", "certs"]),
    ("mqtk-sub -t a --exec cat ch", ["chart.svg"]),
)


def file_directory(case):
    d = tempfile.mkdtemp(prefix="mqtk-compl-")
    case.addCleanup(shutil.rmtree, d, ignore_errors=True)
    for f in ("ca.pem", "chart.svg", "a.json"):
        open(os.path.join(d, f), "w").close()
    os.mkdir(os.path.join(d, "certs"))
    return d


class EveryShellTest:
    """The same expectations for each shell (complete_lines)."""

    def test_values_options_and_the_front_command(self):
        answers = self.complete_lines([line for line, _ in VALUES])
        for line, expected in VALUES:
            with self.subTest(line=line):
                self.assertEqual(sorted(answers[line]), sorted(expected))

    def test_files_where_a_file_is_taken(self):
        d = file_directory(self)
        answers = self.complete_lines([line for line, _ in FILES], cwd=d)
        for line, expected in FILES:
            with self.subTest(line=line):
                # (zsh's _files may add a directory once per file pattern.)
                self.assertEqual(sorted({c.rstrip("/") for c in answers[line]}), expected)

    def test_options_once_and_none_refused(self):
        lines = [f"{name} -" for name in TOOLS] + [f"mqtk-bench {c} -" for c in BENCH_COMMANDS] + ["mqtk sub -"]
        answers = self.complete_lines(lines)
        for line in lines:
            with self.subTest(line=line):
                offered = answers[line]
                self.assertGreater(len(offered), 10 if "merge" not in line else 5)
                self.assertEqual(len(offered), len(set(offered)), f"duplicates: {sorted(offered)}")
                for flag in BENCH_REFUSED if line.startswith("mqtk-bench") else REFUSED:
                    self.assertNotIn(flag, offered)
        self.assertEqual(sorted(answers["mqtk sub -"]), sorted(answers["mqtk-sub -"]))

    def test_exec_completes_a_command_then_its_arguments(self):
        answers = self.complete_lines(["mqtk-sub -t a --exec ca", "mqtk-sub -t a --exec cat --q",
                                       "mqtk sub -t a --exec ca"])
        self.assertIn("cat", answers["mqtk-sub -t a --exec ca"])
        self.assertIn("cat", answers["mqtk sub -t a --exec ca"])
        self.assertNotIn("--qos", answers["mqtk-sub -t a --exec cat --q"])


@unittest.skipUnless(ZSH, "zsh is not installed (scripts/deps installs it)")
class ZshCompletionTest(EveryShellTest, unittest.TestCase):
    def complete_lines(self, lines, cwd=None):
        return zsh_complete(lines, cwd=cwd)


@unittest.skipUnless(FISH, "fish is not installed (scripts/deps installs it)")
class FishCompletionTest(EveryShellTest, unittest.TestCase):
    def complete_lines(self, lines, cwd=None):
        return fish_complete(lines, cwd=cwd)


@unittest.skipUnless(os.path.exists(BASH_COMPLETION), "bash-completion is not installed (scripts/deps installs it)")
class BashEveryShellTest(EveryShellTest, unittest.TestCase):
    def complete_lines(self, lines, cwd=None):
        return {line: bash_complete(line, cwd=cwd) for line in lines}


if __name__ == "__main__":
    unittest.main()
