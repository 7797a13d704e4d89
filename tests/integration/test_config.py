"""The config file of default options (mqtk(1) CONFIG FILE): every tool reads
[mqtk] and its own section from $XDG_CONFIG_HOME/mqtk/config (or
~/.config/mqtk/config, MQTK_CONFIG, --config), the tool's section winning and
the command line winning over both. HOME and XDG_CONFIG_HOME point at a
temporary directory: nothing is read from or written to the real home."""

import os
import shutil
import subprocess
import tempfile

from mqtk_testing import TIMEOUT, BrokerTestCase, free_port, tool, wait_for


class ConfigFileCase(BrokerTestCase):
    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="mqtk-home-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.env = dict(os.environ, HOME=self.home, XDG_CONFIG_HOME=os.path.join(self.home, "xdg"))
        self.env.pop("MQTK_CONFIG", None)
        self.default_path = os.path.join(self.home, "xdg", "mqtk", "config")

    def write(self, text, path=None, mode=0o600):
        path = path or self.default_path
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def run_bare(self, name, *args, env=None, input=None):
        """The tool with no -p: host and port come from the config file."""
        return subprocess.run([tool(name)] + list(args), input=input, capture_output=True, timeout=TIMEOUT,
                              cwd=self.cwd, env=env or self.env)

    def wait_log(self, text):
        wait_for(lambda: text in self.broker.log(), what=repr(text) + " in the broker log")

    def common(self, port=None):
        return f'[mqtk]\nhost = "127.0.0.1"\nport = {port or self.port}\n'


class ConfigFileTest(ConfigFileCase):
    def test_host_and_port_from_the_config_reach_the_broker(self):
        self.write(self.common())
        r = self.run_bare("mqtk-pub", "-t", "cfg/a", "-m", "x", "-i", "from-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from from-config")

    def test_home_config_is_the_default_without_xdg_config_home(self):
        self.write(self.common(), path=os.path.join(self.home, ".config", "mqtk", "config"))
        env = dict(self.env)
        env.pop("XDG_CONFIG_HOME")
        r = self.run_bare("mqtk-pub", "-t", "cfg/a", "-m", "x", "-i", "home-config", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from home-config")

    def test_flags_win_over_the_tool_section_which_wins_over_mqtk(self):
        dead = free_port()  # nothing listens there
        self.write(self.common(port=dead) + '\nid = "common-id"\n'
                   f'[mqtk-pub]\nport = {self.port}\nid = "tool-id"\ntopic = "cfg/t"\nqos = 1\n'
                   f'[mqtk-sub]\nport = {dead}\n')
        r = self.run_bare("mqtk-pub", "-m", "one")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from tool-id (d0, q1, r0, m1, 'cfg/t'")
        self.assertNotIn("common-id", self.broker.log())
        r = self.run_bare("mqtk-pub", "-m", "two", "-i", "flag-id", "-q", "0", "-t", "cfg/flag")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from flag-id (d0, q0, r0, m0, 'cfg/flag'")

    def test_url_and_host_port_beat_each_other_from_the_file(self):
        dead = free_port()  # nothing listens there
        self.write(f'[mqtk]\nurl = "mqtt://127.0.0.1:{dead}"\n')
        r = self.run_bare("mqtk-pub", "-h", "127.0.0.1", "-p", str(self.port), "-t", "cfg/u", "-m", "x", "-i", "flag-hp")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from flag-hp")
        self.write(f'[mqtk]\nport = {dead}\n')
        r = self.run_bare("mqtk-pub", "-L", f"mqtt://127.0.0.1:{self.port}/cfg/u", "-m", "x", "-i", "flag-url")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from flag-url")

    def test_a_file_message_does_not_break_another_message_source(self):
        self.write(self.common() + '[mqtk-pub]\nmessage = "hello"\n')
        r = self.run_bare("mqtk-pub", "-t", "cfg/n", "-n", "-i", "null-flag")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from null-flag (d0, q0, r0, m0, 'cfg/n', ... (0 bytes))")

    def test_subscriber_takes_its_own_section(self):
        self.write(self.common() + '[mqtk-sub]\ntopic = ["cfg/x", "cfg/y"]\ncount = 2\njson = true\n'
                   '[mqtk-pub]\nretain = true\n')
        sub = self.spawn([tool("mqtk-sub"), "-i", "cfg-sub"], env=self.env)
        wait_for(lambda: "Sending SUBACK to cfg-sub" in self.broker.log() or sub.poll() is not None,
                 what="the subscription")
        for topic in ("cfg/x", "cfg/y"):
            r = self.run_bare("mqtk-pub", "-t", topic, "-m", "1")
            self.assertEqual(r.returncode, 0, r.stderr)
        code, out, err = self.finish(sub)
        self.assertEqual(code, 0, err)
        lines = out.decode().splitlines()
        self.assertEqual(len(lines), 2, out)
        self.assertTrue(all(line.startswith('{"tst":') for line in lines), out)
        # [mqtk-pub]'s retain: both messages came retained to the later subscriber.
        r = self.run_bare("mqtk-sub", "-t", "cfg/#", "--retained-only", "-W", "5", "--no-config",
                          "-p", self.port, "-v")
        self.assertEqual(sorted(r.stdout.decode().splitlines()), ["cfg/x 1", "cfg/y 1"], r.stderr)

    def test_no_config_reads_nothing(self):
        self.write(self.common(port=free_port()))
        r = self.run_bare("mqtk-pub", "--no-config", "-p", self.port, "-t", "a", "-m", "x", "-d")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("mqtk-pub: no config file read (--no-config)", r.stderr.decode())

    def test_mqtk_config_and_config_name_other_files(self):
        self.write(self.common(port=free_port()))
        other = self.write(self.common() + '[mqtk-pub]\nid = "env-id"\n', path=os.path.join(self.home, "other"))
        third = self.write(self.common() + '[mqtk-pub]\nid = "option-id"\n', path=os.path.join(self.home, "third"))
        env = dict(self.env, MQTK_CONFIG=other)
        r = self.run_bare("mqtk-pub", "-t", "a", "-m", "x", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from env-id")
        r = self.run_bare("mqtk-pub", "--config", third, "-t", "a", "-m", "x", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("Received PUBLISH from option-id")

    def test_a_named_file_that_does_not_exist_is_a_usage_error(self):
        missing = os.path.join(self.home, "missing")
        r = self.run_bare("mqtk-pub", "--config", missing, "-p", self.port, "-t", "a", "-m", "x")
        self.assert_usage_error(r, f"mqtk-pub: cannot read config file {missing} (--config): no such file")
        r = self.run_bare("mqtk-sub", "-p", self.port, "-t", "a", env=dict(self.env, MQTK_CONFIG=missing))
        self.assert_usage_error(r, f"mqtk-sub: cannot read config file {missing} (MQTK_CONFIG): no such file")
        self.assert_no_connection()
        # The default file may be missing.
        r = self.run_bare("mqtk-pub", "-p", self.port, "-t", "a", "-m", "x", "-d")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"mqtk-pub: no config file ({self.default_path} does not exist)", r.stderr.decode())

    def test_unknown_key_and_bad_value_name_the_file_line_and_key(self):
        path = self.write(self.common() + "[mqtk-pub]\ntopic = \"a\"\nhots = \"x\"\n")
        r = self.run_bare("mqtk-pub", "-m", "x")
        self.assert_usage_error(r, f"mqtk-pub: {path}:6: unknown key 'hots' in [mqtk-pub]; did you mean 'host'?")
        self.write("# defaults\n[mqtk]\nport = 99999\n")
        r = self.run_bare("mqtk-retain-clear", "-t", "a/#", "-y")
        self.assert_usage_error(r, f"mqtk-retain-clear: {path}:3: port: expected a port from 1 to 65535, not '99999'")
        self.write(self.common() + "[mqtk-sys-monitor]\nonce = maybe\n")
        r = self.run_bare("mqtk-sys-monitor")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"mqtk-sys-monitor: {path}:5: once: expected true or false, not 'maybe'", r.stderr.decode())
        self.write(self.common() + "[mqtk]\njson = true\n")
        r = self.run_bare("mqtk-sub", "-t", "a")
        self.assert_usage_error(r, f"{path}:5: 'json' cannot go in [mqtk], which takes the connection, TLS "
                                   "and reconnecting options only; put it under [mqtk-sub]")
        self.assert_no_connection()

    def test_a_later_check_names_where_the_file_set_the_option(self):
        path = self.write(f'[mqtk]\nport = {self.port}\nhost = ""\n')
        r = self.run_bare("mqtk-pub", "-t", "a", "-m", "x")
        self.assert_usage_error(r, f"mqtk-pub: -h: empty host name (set by {path}:3: host)")
        self.assert_no_connection()

    def test_help_works_with_a_bad_config(self):
        self.write("[mqtk]\nnonsense = 1\n")
        r = self.run_bare("mqtk-pub", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--config FILE", r.stdout.decode())
        self.assertIn("--no-config", r.stdout.decode())

    def test_debug_names_the_file_and_its_keys(self):
        path = self.write(self.common() + '[mqtk-pub]\nid = "dbg"\n')
        r = self.run_bare("mqtk-pub", "-d", "-t", "a", "-m", "x", "-p", self.port)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"mqtk-pub: config file {path}: set [mqtk-pub] id, [mqtk] host; already given: [mqtk] port",
                      r.stderr.decode())

    def test_bench_reads_its_section_and_mqtk(self):
        self.write(self.common() + "[mqtk-bench]\nclients = 3\n")
        r = self.run_bare("mqtk-bench", "conn", "-j", "-I", "cfgbench")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.wait_log("as cfgbench-conn-2 ")
        log = self.broker.log()
        self.assertEqual(sum(f"as cfgbench-conn-{i} " in log for i in range(5)), 3, log)


class PasswordConfigTest(ConfigFileCase):
    broker_options = {"allow_anonymous": False, "passwords": {"alice": "s3cret-pw"}}

    def test_a_password_in_a_file_others_can_read_is_refused(self):
        path = self.write(self.common() + 'username = "alice"\npassword = "s3cret-pw"\n', mode=0o644)
        r = self.run_bare("mqtk-pub", "-t", "a", "-m", "x", "-d")
        self.assert_usage_error(r, f"mqtk-pub: {path}:5: pw: {path} is readable by others (mode 0644); chmod 600 it")
        self.assertNotIn(b"s3cret-pw", r.stderr + r.stdout)
        self.assert_no_connection()
        os.chmod(path, 0o640)
        r = self.run_bare("mqtk-sub", "-t", "a", "-E")
        self.assert_usage_error(r, f"{path} is readable by its group (mode 0640); chmod 600 it")

    def test_a_password_in_a_private_file_is_used_and_never_shown(self):
        path = self.write(self.common() + 'username = "alice"\npassword = "s3cret-pw"\n')
        r = self.run_bare("mqtk-pub", "-t", "a", "-m", "x", "-d", "-i", "pw-pub")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"config file {path}: set [mqtk] host, [mqtk] port, [mqtk] username, [mqtk] pw",
                      r.stderr.decode())
        self.assertNotIn(b"s3cret-pw", r.stderr + r.stdout)
        self.wait_log("Received PUBLISH from pw-pub")
        # A wrong password from the file: refused by the broker, never shown.
        self.write(self.common() + 'username = "alice"\npassword = "wrong-pw"\n')
        r = self.run_bare("mqtk-pub", "-t", "a", "-m", "x", "-d")
        self.assertNotEqual(r.returncode, 0)
        self.assertNotIn(b"wrong-pw", r.stderr + r.stdout)
