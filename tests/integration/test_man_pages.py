"""The manual pages: every page in man/ lints clean with mandoc -Tlint
(warnings fail), there is one for the front command, one per tool that
`mqtk --help` lists and one for the expression language, mqtk(1) lists every
tool, and every mqtk page one page refers to exists."""

import glob
import os
import re
import shutil
import subprocess
import unittest

from mqtk_testing import TIMEOUT, tool

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAN = os.path.join(ROOT, "man")
MANDOC = shutil.which("mandoc")


def pages():
    return sorted(glob.glob(os.path.join(MAN, "*.[1-8]")))


def listed_tools():
    """The tool names `mqtk --help` lists ("pub", ...)."""
    out = subprocess.run([tool("mqtk"), "--help"], capture_output=True, timeout=TIMEOUT, check=True).stdout
    return re.findall(r"^  (\S+) ", out.decode(), re.M)


def roff_text(path):
    """A page's source with the escapes that hide words undone (\\- \\& \\fB...)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", text)
    return text.replace("\\-", "-").replace("\\&", "").replace("\\c", "")


class ManPagesTest(unittest.TestCase):
    def test_every_page_lints_clean(self):
        self.assertIsNotNone(MANDOC, "mandoc is not installed (scripts/deps installs it)")
        self.assertGreaterEqual(len(pages()), 7)
        for page in pages():
            with self.subTest(page=os.path.basename(page)):
                r = subprocess.run([MANDOC, "-Tlint", "-W", "warning", page], capture_output=True, timeout=TIMEOUT)
                report = (r.stdout + r.stderr).decode(errors="replace")
                self.assertEqual((r.returncode, report), (0, ""), f"mandoc -Tlint -W warning {page}")

    def test_a_page_for_mqtk_each_tool_and_the_expressions(self):
        names = {os.path.basename(p) for p in pages()}
        tools = listed_tools()
        self.assertEqual(len(tools), 5)
        expected = {"mqtk.1", "mqtk-expressions.7"} | {f"mqtk-{t}.1" for t in tools}
        self.assertEqual(sorted(expected - names), [], "missing manual pages")
        overview = roff_text(os.path.join(MAN, "mqtk.1"))
        for t in tools:
            self.assertIn(f".BR mqtk-{t} (1)", overview, f"mqtk(1) does not list mqtk-{t}")
        for section in ("EXIT STATUS", "JSON SCHEMAS", "ENVIRONMENT", "FILES"):
            self.assertIn(f"\n.SH {section}\n", overview)

    def test_references_to_mqtk_pages_resolve(self):
        names = {os.path.basename(p) for p in pages()}
        for page in pages():
            for name, section in re.findall(r"^\.BR (mqtk[\w-]*) \((\d)\)", roff_text(page), re.M):
                with self.subTest(page=os.path.basename(page), ref=f"{name}({section})"):
                    self.assertIn(f"{name}.{section}", names)


if __name__ == "__main__":
    unittest.main()
