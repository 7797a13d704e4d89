"""mqtk-pub and mqtk-sub under valgrind's memcheck: no invalid read or write,
no use of uninitialised memory, no memory definitely lost, in mqtk's code and
in the Paho linked into it. Suppressions (what is not mqtk's, each with its
reason) are in tests/sanitizers/valgrind.supp. Skipped for a sanitizer build
(scripts/sanitize), which valgrind cannot run."""

import os
import shutil
import subprocess
import unittest

from mqtk_testing import TIMEOUT, BrokerTestCase, sanitizer_build, tool

VALGRIND = shutil.which("valgrind")
READELF = shutil.which("readelf")
SUPPRESSIONS = os.path.join(os.path.dirname(__file__), "..", "sanitizers", "valgrind.supp")
# Not one of the tools' exit codes.
ERROR_EXIT = 86
# memcheck runs a program some 20 to 50 times slower.
VALGRIND_TIMEOUT = TIMEOUT * 4


@unittest.skipIf(VALGRIND is None or READELF is None, "valgrind or readelf not installed")
class ValgrindTest(BrokerTestCase):
    def setUp(self):
        if sanitizer_build():
            self.skipTest("a sanitizer build: valgrind cannot run it")
        super().setUp()

    def memcheck(self, name):
        log = os.path.join(self.broker.dir, f"valgrind-{name}-%p.log")
        return [VALGRIND, "--tool=memcheck", f"--error-exitcode={ERROR_EXIT}", "--leak-check=full",
                "--errors-for-leak-kinds=definite", "--show-leak-kinds=definite", "--track-origins=yes",
                f"--suppressions={SUPPRESSIONS}", f"--log-file={log}", tool(name), "-p", self.port]

    def valgrind_logs(self):
        text = []
        for entry in sorted(os.listdir(self.broker.dir)):
            if entry.startswith("valgrind-"):
                with open(os.path.join(self.broker.dir, entry), errors="replace") as f:
                    text.append(f"--- {entry}\n{f.read()}")
        return "\n".join(text)

    def check_pub_sub(self, sub_args, pub_args, pub_input, expected):
        client_id = f"vg-sub-{self.id().rsplit('.', 1)[-1]}"
        sub = self.spawn(self.memcheck("mqtk-sub") + ["-i", client_id] + sub_args)
        self.wait_subscribed(self.broker, client_id, sub)
        pub = subprocess.run(self.memcheck("mqtk-pub") + pub_args, input=pub_input, capture_output=True,
                             timeout=VALGRIND_TIMEOUT, cwd=self.cwd)
        rc, out, err = self.finish(sub, timeout=VALGRIND_TIMEOUT)
        logs = self.valgrind_logs()
        self.assertEqual((pub.returncode, pub.stderr), (0, b""), logs)
        self.assertEqual((rc, err), (0, b""), logs)
        self.assertEqual(out, expected)
        # Both ran under memcheck, and it found nothing.
        self.assertEqual(logs.count("ERROR SUMMARY: 0 errors"), 2, logs)

    def test_qos1_lines_from_pub_reach_sub_with_memcheck_clean(self):
        lines = b"".join(f'{{"n":{i}}}\n'.encode() for i in range(20))
        expected = b"".join(f'vg/lines {{"n":{i}}}\n'.encode() for i in range(20))
        self.check_pub_sub(["-t", "vg/#", "-q", "1", "-C", "20", "-v"], ["-t", "vg/lines", "-q", "1", "-l"],
                           lines, expected)

    def test_one_qos0_message_formatted_memcheck_clean(self):
        sub_args = ["-t", "vg/one", "-C", "1", "-F", "%t %p %l %q"]
        self.check_pub_sub(sub_args, ["-t", "vg/one", "-m", "hello"], None, b"vg/one hello 5 0\n")


if __name__ == "__main__":
    unittest.main()
