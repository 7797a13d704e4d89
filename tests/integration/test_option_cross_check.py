"""One check of every option against the tools' own --help: each option that
a built tool's --help lists (each mqtk-bench subcommand's, and mqtk's own)
must be in its manual page and be offered by the bash, zsh and fish
completions; an option --help lists under "Unsupported" (refused before
connecting) must be in the manual page and never offered; and no shell may
offer an option --help does not list. The failure names each option and
where it is missing."""

import os
import re
import subprocess
import unittest

from mqtk_testing import TIMEOUT, tool
from shell_completion import (BASH_COMPLETION, FISH, ROOT, ZSH, bash_complete, fish_complete, fish_directory,
                              zsh_complete)

MAN = os.path.join(ROOT, "man")
SHELLS = (("bash", "completions/mqtk.bash"), ("zsh", "completions/_mqtk"), ("fish", "completions/mqtk.fish"))
FLAG = r"(?<![\w\\-])(--?[A-Za-z][\w-]*)"


def run_help(*argv):
    r = subprocess.run([tool(argv[0])] + list(argv[1:]) + ["--help"], capture_output=True, timeout=TIMEOUT)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} --help exited {r.returncode}: {r.stderr!r}")
    return r.stdout.decode()


def help_options(text):
    """{flag: option group} of every option a CLI11 --help lists ("" for the
    options outside any group)."""
    options, group = {}, ""
    for line in text.split("\n"):
        m = re.match(r"^\[Option Group: (.+)\]$", line)
        if m:
            group = m.group(1)
        elif re.match(r"^\S", line):
            group = ""  # "Options:", "Subcommands:", ... at the left margin
        else:
            m = re.match(r"^ {2,6}(-[^\s,]+(?:,-[^\s,]+)*)", line)
            if m:
                for flag in m.group(1).split(","):
                    options[flag] = group
    return options


def help_section_words(text, section):
    """The words listed under a --help section such as "Subcommands:"."""
    words = []
    lines = text.split("\n")
    if section + ":" not in lines:
        return words
    for line in lines[lines.index(section + ":") + 1:]:
        m = re.match(r"^  (\S+)", line)
        if not m:
            break
        words.append(m.group(1))
    return words


def man_flags(page):
    """Every flag a manual page's source mentions, its escapes undone."""
    with open(os.path.join(MAN, page), encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", text).replace("\\-", "-").replace("\\&", "").replace("\\c", "")
    return set(re.findall(FLAG, text))


def front_tools():
    return re.findall(r"^  (\S+) ", subprocess.run([tool("mqtk"), "--help"], capture_output=True,
                                                   timeout=TIMEOUT).stdout.decode(), re.M)


class OptionCrossCheckTest(unittest.TestCase):
    def setUp(self):
        missing = [name for name, present in (("bash-completion", os.path.exists(BASH_COMPLETION)),
                                              ("zsh", ZSH), ("fish", FISH)) if not present]
        self.assertEqual(missing, [], "not installed (scripts/deps installs them)")

    def contexts(self):
        """(command words, option line, manual page, {flag: group}) for each
        command whose options are checked."""
        front_help = subprocess.run([tool("mqtk"), "--help"], capture_output=True, timeout=TIMEOUT).stdout.decode()
        front = {f: "" for f in re.findall(r"^(?:Usage:)?\s+mqtk (--[\w-]+)", front_help, re.M)}
        self.assertEqual(sorted(front), ["--help", "--version"])
        result = [("mqtk", "mqtk -", "mqtk.1", front)]
        for name in front_tools():
            command = f"mqtk-{name}"
            text = run_help(command)
            result.append((command, f"{command} -", f"{command}.1", help_options(text)))
            for sub in help_section_words(text, "Subcommands"):
                result.append((f"{command} {sub}", f"{command} {sub} -", f"{command}.1",
                               help_options(run_help(command, sub))))
        self.assertGreaterEqual(len(result), 11)
        return result

    def test_every_help_option_is_in_its_man_page_and_every_shell_offers_it(self):
        contexts = self.contexts()
        lines = [line for _, line, _, _ in contexts]
        offered = {"bash": {line: bash_complete(line) for line in lines},
                   "zsh": zsh_complete(lines),
                   "fish": fish_complete(lines)}
        missing, refused_offered, unknown_offered = {}, [], []
        for command, line, page, options in contexts:
            in_man = man_flags(page)
            for flag, group in sorted(options.items()):
                where = [] if flag in in_man else [f"man/{page}"]
                for shell, path in SHELLS:
                    if group == "Unsupported":
                        if flag in offered[shell][line]:
                            refused_offered.append(f"{command} {flag}: {path} ({shell})")
                    elif flag not in offered[shell][line]:
                        where.append(f"{path} ({shell})")
                if where:
                    missing[f"{command} {flag}"] = where
            for shell, path in SHELLS:
                for flag in sorted(set(offered[shell][line]) - set(options)):
                    unknown_offered.append(f"{command} {flag}: {path} ({shell})")
        report = []
        if missing:
            report.append("options in --help but missing from these files:")
            report += [f"  {option}: {', '.join(where)}" for option, where in missing.items()]
        if refused_offered:
            report.append("options --help lists as Unsupported (refused) but completed:")
            report += [f"  {entry}" for entry in refused_offered]
        if unknown_offered:
            report.append("options completed that --help does not list:")
            report += [f"  {entry}" for entry in unknown_offered]
        if report:
            self.fail("\n" + "\n".join(report))

    def test_every_shell_offers_the_tools_and_bench_commands_that_help_lists(self):
        tools = front_tools()
        commands = help_section_words(run_help("mqtk-bench"), "Subcommands")
        self.assertEqual(len(tools), 5)
        self.assertEqual(len(commands), 5)
        lines = ["mqtk ", "mqtk-bench ", "mqtk bench "]
        zsh = zsh_complete(lines)
        fish = fish_complete(lines)
        for shell, answers in (("bash", {line: bash_complete(line) for line in lines}), ("zsh", zsh),
                               ("fish", fish)):
            with self.subTest(shell=shell):
                self.assertEqual(sorted(answers["mqtk "]), sorted(tools))
                self.assertEqual(sorted(answers["mqtk-bench "]), sorted(commands))
                self.assertEqual(sorted(answers["mqtk bench "]), sorted(commands))


if __name__ == "__main__":
    unittest.main()
