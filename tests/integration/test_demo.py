"""scripts/demo, run as a new user would (without its deps and build step):
every tool shows its part against the demo's own broker, and nothing is
left behind."""

import os
import subprocess
import tempfile
import unittest

from mqtk_testing import BIN_DIR, TIMEOUT

DEMO = os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "demo")


class DemoTest(unittest.TestCase):
    def test_demo_shows_every_tool(self):
        tmp = tempfile.mkdtemp(prefix="mqtk-demo-test-")
        env = dict(os.environ, MQTK_BUILD_DIR=os.path.abspath(BIN_DIR), TMPDIR=tmp)
        r = subprocess.run(["bash", DEMO, "--no-build"], capture_output=True, timeout=TIMEOUT * 4, env=env,
                           cwd=tmp)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out + r.stderr.decode(errors="replace"))
        # 1. pub -> sub -j -> jq
        self.assertIn('"payload":{"temp":21.50,"unit":"C","ok":true}', out)
        self.assertIn('"temp": 21.5', out)
        # 2. one alert per shake
        self.assertEqual(out.count("lab/accel: shaken, ax="), 3, out)
        # 3. retain-clear, dry run then for real
        self.assertIn("would clear 5 retained messages (60 bytes) under 'demo/room/#'; nothing changed (--dry-run)",
                      out)
        self.assertIn("cleared 5 retained messages (60 bytes) under 'demo/room/#'; verified: none left", out)
        # 4. sys-monitor
        self.assertIn("MQTT BROKER OK - mosquitto version", out)
        # 5. bench
        self.assertRegex(out, r"received +2000 .*lost 0 +duplicates 0")
        self.assertIn("== done", out)
        # Its temporary directory is gone.
        self.assertEqual(os.listdir(tmp), [])
        os.rmdir(tmp)


if __name__ == "__main__":
    unittest.main()
