"""Credentials (issue 17): the password of -P and of -L's URL blanked in the
process's arguments (ps, /proc/PID/cmdline) while the tool still connects,
--pw-file, MQTK_USERNAME and MQTK_PASSWORD (the command line wins), refusals
with mosquitto_sub's exit codes naming the credentials refused, and the
password never in -d output, messages, JSON or --help. The broker's password
file is made with mosquitto_passwd -b at test time; anonymous clients are
refused."""

import os
import shutil
import subprocess
import tempfile
import unittest

from mqtk_testing import MOSQUITTO_PUB, MOSQUITTO_SUB, TIMEOUT, BrokerTestCase, tool, wait_for

USER = "alice"
PASSWORD = "Pa55-w0rd-xyzzy"
OTHER_USER = "bob"
OTHER_PASSWORD = "b0b-s3cret-plugh"
WRONG = "Wr0ng-guess-quux"


def cmdline(pid):
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read()


class CredentialsTest(BrokerTestCase):
    def setUp(self):
        self.secrets = tempfile.mkdtemp(prefix="mqtk-credentials-")
        self.addCleanup(shutil.rmtree, self.secrets, ignore_errors=True)
        passwd = os.path.join(self.secrets, "broker.passwd")
        subprocess.run(["mosquitto_passwd", "-c", "-b", passwd, USER, PASSWORD], check=True, capture_output=True,
                       timeout=TIMEOUT)
        subprocess.run(["mosquitto_passwd", "-b", passwd, OTHER_USER, OTHER_PASSWORD], check=True,
                       capture_output=True, timeout=TIMEOUT)
        os.chmod(passwd, 0o600)
        self.broker_options = {"allow_anonymous": False, "extra_config": f"password_file {passwd}"}
        super().setUp()

    # Helpers -----------------------------------------------------------
    def env(self, **variables):
        """The environment without the developer's own MQTK_USERNAME and
        MQTK_PASSWORD, plus `variables`."""
        env = {k: v for k, v in os.environ.items() if k not in ("MQTK_USERNAME", "MQTK_PASSWORD")}
        env.update(variables)
        return env

    def run_with(self, name, *args, env=None, input=None, port=True):
        argv = [tool(name)] + (["-p", self.port] if port else []) + list(args)
        return subprocess.run(argv, input=input, capture_output=True, timeout=TIMEOUT, cwd=self.cwd,
                              env=env or self.env())

    def secret_file(self, name, content):
        path = os.path.join(self.secrets, name)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, 0o600)
        return path

    def assert_no_secret(self, data, *secrets):
        for secret in secrets or (PASSWORD, WRONG, OTHER_PASSWORD):
            self.assertNotIn(secret.encode(), data)

    def subscriber(self, *args, env=None):
        """A mqtk-sub -C 1 on cred/t, started with `args`, once subscribed
        (which needs the credentials accepted)."""
        client_id = f"cred-sub-{len(self.procs)}"
        p = self.spawn([tool("mqtk-sub"), "-p", self.port, "-i", client_id, "-t", "cred/t", "-C", "1", *args],
                       env=env or self.env())
        self.wait_subscribed(self.broker, client_id, p)
        self.assertIsNone(p.poll(), p.stderr.read().decode(errors="replace") if p.poll() is not None else "")
        return p

    def publish_and_finish(self, sub, payload=b"hello"):
        r = self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-u", USER, "-P", PASSWORD, "-t", "cred/t", "-m",
                          payload.decode()])
        self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, payload + b"\n", b""))

    # 1. The password is not in the process's arguments ------------------
    def test_password_blanked_in_cmdline_of_a_running_sub(self):
        url = f"mqtt://{USER}:{PASSWORD}@127.0.0.1:{self.port}/cred/t"
        stars = b"*" * len(PASSWORD)
        forms = (
            # (arguments, what /proc/PID/cmdline shows instead, the output)
            (["-u", USER, "-P", PASSWORD], b"\0-P\0" + stars + b"\0", b"hello\n"),
            (["-u", USER, "-P" + PASSWORD], b"\0-P" + stars + b"\0", b"hello\n"),
            (["-u", USER, "--pw", PASSWORD], b"\0--pw\0" + stars + b"\0", b"hello\n"),
            (["-u", USER, f"--pw={PASSWORD}"], b"\0--pw=" + stars + b"\0", b"hello\n"),
            (["-u", USER, "-vP", PASSWORD], b"\0-vP\0" + stars + b"\0", b"cred/t hello\n"),
            (["-L", url], f"\0mqtt://{USER}:".encode() + stars + f"@127.0.0.1:{self.port}/cred/t\0".encode(),
             b"hello\n"),
        )
        for args, shown, output in forms:
            with self.subTest(args=args[-1]):
                sub = self.subscriber(*args)
                line = cmdline(sub.pid)
                self.assert_no_secret(line)
                self.assertIn(shown, line)
                self.assertIn(b"\0-t\0cred/t\0", line)  # only the password is blanked
                if shutil.which("ps"):
                    ps = subprocess.run(["ps", "-o", "args=", "-p", str(sub.pid)], capture_output=True,
                                        timeout=TIMEOUT).stdout
                    self.assert_no_secret(ps)
                    self.assertIn(b"mqtk-sub", ps)
                # Still connected with the password it was given.
                r = self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-u", USER, "-P", PASSWORD, "-t", "cred/t", "-m",
                                  "hello"])
                self.assertEqual(r.returncode, 0, r.stderr)
                rc, out, err = self.finish(sub)
                self.assertEqual((rc, out, err), (0, output, b""))

    def test_password_blanked_in_every_tool(self):
        # mqtk-pub -l and mqtk-sys-monitor stay connected: look at them then.
        runs = (("mqtk-pub", ["-l", "-t", "cred/t"]), ("mqtk-sys-monitor", ["-j"]))
        for name, args in runs:
            with self.subTest(tool=name):
                client_id = f"cred-{name}"
                p = self.spawn([tool(name), "-p", self.port, "-i", client_id, "-u", USER, "-P", PASSWORD, *args],
                               stdin=subprocess.PIPE, env=self.env())
                wait_for(lambda: f"Sending CONNACK to {client_id} (0, 0)" in self.broker.log() or p.poll() is not None,
                         what=f"{name} to connect")
                self.assertIsNone(p.poll(), p.stderr.read() if p.poll() is not None else "")
                self.assert_no_secret(cmdline(p.pid))
                self.assertIn(b"-P\0" + b"*" * len(PASSWORD), cmdline(p.pid))
                p.kill()
                p.wait()

    def test_exec_command_arguments_are_not_blanked(self):
        # Everything after --exec belongs to the command, which gets it as given.
        sub = self.subscriber("-u", USER, "-P", PASSWORD, "--exec", "echo", "-P", "not-hidden")
        line = cmdline(sub.pid)
        self.assert_no_secret(line)
        self.assertIn(b"echo\0-P\0not-hidden\0", line)
        self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-u", USER, "-P", PASSWORD, "-t", "cred/t", "-m", "x"])
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, err), (0, b""))
        self.assertEqual(out, b"x\n-P not-hidden\n")

    # 2. --pw-file -------------------------------------------------------
    def test_pw_file(self):
        for name, content in (("lf", PASSWORD.encode() + b"\nnot this line\n"), ("crlf", PASSWORD.encode() + b"\r\n"),
                              ("bare", PASSWORD.encode())):
            with self.subTest(file=name):
                path = self.secret_file(name, content)
                sub = self.subscriber("-u", USER, "--pw-file", path)
                r = self.run_with("mqtk-pub", "-u", USER, "--pw-file", path, "-t", "cred/t", "-m", name)
                self.assertEqual((r.returncode, r.stderr), (0, b""))
                rc, out, err = self.finish(sub)
                self.assertEqual((rc, out, err), (0, name.encode() + b"\n", b""))

    def test_pw_file_from_a_pipe_leaves_the_rest_of_stdin(self):
        sub = self.subscriber("-u", USER, "-P", PASSWORD, "-C", "2")
        r = self.run_with("mqtk-pub", "-u", USER, "--pw-file", "/dev/stdin", "-l", "-t", "cred/t",
                          input=PASSWORD.encode() + b"\nfirst\nsecond\n")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"first\nsecond\n", b""))

    def test_pw_file_errors(self):
        missing = os.path.join(self.secrets, "missing")
        empty = self.secret_file("empty", b"")
        blank = self.secret_file("blank", b"\n" + PASSWORD.encode() + b"\n")
        good = self.secret_file("good", PASSWORD.encode() + b"\n")
        cases = (
            (["-u", USER, "--pw-file", missing], [f"--pw-file: cannot read '{missing}': No such file or directory"]),
            (["-u", USER, "--pw-file", empty], [f"--pw-file: '{empty}' is empty"]),
            (["-u", USER, "--pw-file", blank], [f"the first line of '{blank}' is empty"]),
            (["-u", USER, "--pw-file", self.secrets], [f"'{self.secrets}': Is a directory"]),
            (["-u", USER, "--pw-file", good, "-P", PASSWORD], ["-P and --pw-file cannot be used together"]),
            (["--pw-file", good], ["--pw-file: a password needs a username (-u, or MQTK_USERNAME"]),
        )
        for name, extra in (("mqtk-pub", ["-t", "cred/t", "-m", "x"]), ("mqtk-sub", ["-t", "cred/t"])):
            for args, needles in cases:
                with self.subTest(tool=name, args=args):
                    r = self.run_with(name, *args, *extra)
                    self.assert_usage_error(r, *needles)
                    self.assert_no_secret(r.stderr)
                    self.assertEqual(r.stderr.decode().count("\n"), 2)  # the message and "Run ... --help"
        self.assert_no_connection()

    # 3. MQTK_USERNAME and MQTK_PASSWORD -------------------------------------
    def test_environment_gives_the_credentials(self):
        env = self.env(MQTK_USERNAME=USER, MQTK_PASSWORD=PASSWORD)
        sub = self.subscriber(env=env)
        r = self.run_with("mqtk-pub", "-t", "cred/t", "-m", "from env", env=env)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"from env\n", b""))
        self.assertIn(f"u'{USER}'", self.broker.log())

    def test_command_line_wins_over_the_environment(self):
        url = f"mqtt://{USER}:{PASSWORD}@localhost:{self.port}/cred/t"
        cases = (
            # (environment, arguments, exit status, user the broker saw)
            ({"MQTK_USERNAME": USER, "MQTK_PASSWORD": WRONG}, ["-P", PASSWORD], 0, USER),
            ({"MQTK_USERNAME": USER, "MQTK_PASSWORD": PASSWORD}, ["-P", WRONG], 5, None),
            ({"MQTK_USERNAME": OTHER_USER, "MQTK_PASSWORD": PASSWORD}, ["-u", USER], 0, USER),
            ({"MQTK_USERNAME": USER, "MQTK_PASSWORD": OTHER_PASSWORD}, ["-u", OTHER_USER], 0, OTHER_USER),
            ({"MQTK_USERNAME": OTHER_USER, "MQTK_PASSWORD": WRONG}, ["-L", url], 0, USER),
            ({"MQTK_USERNAME": USER, "MQTK_PASSWORD": WRONG}, ["--pw-file", self.secret_file("pw", PASSWORD.encode())],
             0, USER),
            ({"MQTK_USERNAME": "", "MQTK_PASSWORD": ""}, ["-u", USER, "-P", PASSWORD], 0, USER),  # empty: unset
        )
        for i, (variables, args, code, user) in enumerate(cases):
            with self.subTest(env=variables, args=args):
                client_id = f"cred-env-{i}"
                port = [] if "-L" in args else ["-p", self.port]
                r = self.run_with("mqtk-pub", *port, "-i", client_id, *args, *([] if "-L" in args else ["-t", "cred/t"]),
                                  "-m", "x", env=self.env(**variables), port=False)
                self.assertEqual(r.returncode, code, r.stderr)
                self.assert_no_secret(r.stderr)
                if user:
                    self.assertIn(f"as {client_id} (p2, c1, k60, u'{user}')", self.broker.log())

    def test_environment_password_needs_a_user_name(self):
        for name, extra in (("mqtk-pub", ["-t", "cred/t", "-m", "x"]), ("mqtk-sub", ["-t", "cred/t"]),
                            ("mqtk-retain-clear", ["-t", "cred/#"]), ("mqtk-sys-monitor", [])):
            with self.subTest(tool=name):
                r = self.run_with(name, *extra, env=self.env(MQTK_PASSWORD=PASSWORD))
                self.assert_usage_error(
                    r, "MQTK_PASSWORD (environment): a password needs a username (-u, or MQTK_USERNAME in the environment)")
                self.assert_no_secret(r.stderr)
        r = self.run_with("mqtk-pub", "-P", PASSWORD, "-t", "cred/t", "-m", "x")
        self.assert_usage_error(r, "-P: a password needs a username")
        self.assert_no_connection()

    # 5. Refusals exit as mosquitto_sub does ------------------------------
    def test_refused_credentials_exit_as_mosquitto_sub(self):
        cases = (
            # (arguments, what the message adds)
            (["-u", USER, "-P", WRONG], f"credentials refused: user '{USER}' (from -u), the password from -P"),
            (["-u", "nobody", "-P", PASSWORD], "credentials refused: user 'nobody' (from -u)"),
            (["-u", USER], f"credentials refused: user '{USER}' (from -u), no password"),
            ([], "no credentials were given"),
        )
        for version in ("311", "5", "31"):
            for args, note in cases:
                with self.subTest(version=version, args=args):
                    theirs = self.run_cmd([MOSQUITTO_SUB, "-p", self.port, "-V", version, *args, "-t", "cred/t", "-E"])
                    mine = self.run_with("mqtk-sub", "-V", version, *args, "-t", "cred/t", "-E")
                    self.assertEqual(theirs.returncode, 135 if version == "5" else 5, theirs.stderr)
                    self.assertEqual(mine.returncode, theirs.returncode, mine.stderr)
                    err = mine.stderr.decode(errors="replace")
                    self.assertEqual(err.count("\n"), 1, err)
                    self.assertIn(f"broker at localhost:{self.port} refused the connection", err)
                    self.assertIn(note, err)
                    self.assertIn(f"(CONNACK 5)" if version != "5" else "(reason code 135)", err)
                    self.assert_no_secret(mine.stderr)
        self.assert_nothing_published()

    def test_refused_password_from_the_environment_or_a_file_says_so(self):
        env = self.env(MQTK_USERNAME=USER, MQTK_PASSWORD=WRONG)
        for version, code in (("311", 5), ("5", 135)):
            with self.subTest(version=version):
                theirs = self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-V", version, "-u", USER, "-P", WRONG,
                                       "-t", "cred/t", "-m", "x"])
                self.assertEqual(theirs.returncode, code)
                r = self.run_with("mqtk-pub", "-V", version, "-t", "cred/t", "-m", "x", env=env)
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertIn(b"credentials refused: user 'alice' (from MQTK_USERNAME), the password from MQTK_PASSWORD",
                              r.stderr)
                self.assert_no_secret(r.stderr)
                r = self.run_with("mqtk-sub", "-V", version, "-u", USER, "--pw-file",
                                  self.secret_file("wrong", WRONG.encode() + b"\n"), "-t", "cred/t", "-E")
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertIn(b"the password from --pw-file", r.stderr)
                self.assert_no_secret(r.stderr)
        self.assert_nothing_published()

    # 4. Never the password in output ------------------------------------
    def test_debug_output_never_shows_the_password(self):
        pw_file = self.secret_file("pw", PASSWORD.encode() + b"\n")
        url = f"mqtt://{USER}:{PASSWORD}@localhost:{self.port}/cred/t"
        runs = (
            (["-u", USER, "-P", PASSWORD], {}),
            (["-u", USER, "--pw-file", pw_file], {}),
            ([], {"MQTK_USERNAME": USER, "MQTK_PASSWORD": PASSWORD}),
            (["-L", url], {}),
            (["-u", USER, "-P", WRONG], {}),
            (["-u", USER], {"MQTK_PASSWORD": WRONG}),
        )
        for args, variables in runs:
            for name, extra in (("mqtk-pub", ["-m", "x"]), ("mqtk-sub", ["-E"])):
                with self.subTest(tool=name, args=args, env=variables):
                    topic = [] if "-L" in args else ["-t", "cred/t"]
                    r = self.run_with(name, "-d", *args, *topic, *extra, env=self.env(**variables))
                    self.assertIn(b"CONNECT", r.stderr)
                    self.assert_no_secret(r.stderr)
                    self.assert_no_secret(r.stdout)

    def test_help_json_and_parse_errors_never_show_the_password(self):
        env = self.env(MQTK_USERNAME=USER, MQTK_PASSWORD=PASSWORD)
        for name, command in (("mqtk-pub", []), ("mqtk-sub", []), ("mqtk-retain-clear", []), ("mqtk-sys-monitor", []),
                              ("mqtk-bench", ["pub"])):
            with self.subTest(tool=name):
                r = self.run_with(name, *command, "-P", PASSWORD, "--help", env=env, port=False)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(b"--pw-file", r.stdout)
                self.assertIn(b"MQTK_PASSWORD", r.stdout)
                self.assert_no_secret(r.stdout + r.stderr)
        # mqtk-bench's JSON result.
        r = self.run_with("mqtk-bench", "conn", "-p", self.port, "-c", "1", "-u", USER, "-P", PASSWORD, "-j",
                          port=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'"connected"', r.stdout)
        self.assert_no_secret(r.stdout + r.stderr)
        r = self.run_with("mqtk-bench", "conn", "-c", "1", "-L", f"mqtt://{USER}:{PASSWORD}@localhost:{self.port}",
                          "-j", port=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_no_secret(r.stdout + r.stderr)
        # A password with spaces, unquoted: its second word is not repeated either.
        r = self.run_with("mqtk-pub", "-u", USER, "-P", "correct", "horse", "-t", "cred/t", "-m", "x")
        self.assert_usage_error(r, "unexpected argument after the password")
        self.assert_no_secret(r.stderr, "correct", "horse")
        # A bad URL with a password.
        r = self.run_with("mqtk-sub", "-L", f"mqtt://{USER}:{PASSWORD}@localhost:port/cred/t", port=False)
        self.assert_usage_error(r, "-L: invalid URL")
        self.assert_no_secret(r.stderr)


if __name__ == "__main__":
    unittest.main()
