"""The .deb: cpack builds it from the build directory the other tests use,
with the dependencies dpkg-shlibdeps finds; unpacked into a staging root
(dpkg-deb -x), the installed tools work against a broker (the front command
runs the staged tools, the TLS module is loaded from the staged
lib/<triplet>/mqtk), the manual pages and completions are where Debian's
tools look for them, and lintian reports no tag that README does not
explain."""

import glob
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from mqtk_testing import BIN_DIR, TIMEOUT, BrokerTestCase, sanitizer_build, wait_for
from shell_completion import FISH, bash_complete, fish_complete
from test_tls import OPENSSL, make_ca, make_server_cert

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = ("mqtk", "mqtk-pub", "mqtk-sub", "mqtk-retain-clear", "mqtk-sys-monitor", "mqtk-bench")
MAN_PAGES = ("man1/mqtk.1.gz", "man1/mqtk-pub.1.gz", "man1/mqtk-sub.1.gz", "man1/mqtk-retain-clear.1.gz",
             "man1/mqtk-sys-monitor.1.gz", "man1/mqtk-bench.1.gz", "man7/mqtk-expressions.7.gz")


def triplet():
    return subprocess.run(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], capture_output=True, check=True,
                          text=True).stdout.strip()


def readme_lintian_tags():
    """The tags README's "lintian" table explains."""
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("### lintian", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z0-9-]+)`", section, re.M))


@unittest.skipUnless(shutil.which("cpack") and shutil.which("dpkg-deb"), "cpack or dpkg-deb is not installed")
class PackageTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="mqtk-deb-")
        r = subprocess.run(["cpack", "-G", "DEB", "-B", os.path.join(cls.work, "out")], cwd=BIN_DIR,
                           capture_output=True, timeout=600)
        if r.returncode != 0:
            shutil.rmtree(cls.work, ignore_errors=True)
            raise AssertionError(f"cpack failed:\n{r.stdout.decode()}\n{r.stderr.decode()}")
        debs = glob.glob(os.path.join(cls.work, "out", "mqtk_*.deb"))
        assert len(debs) == 1, debs
        cls.deb = debs[0]
        cls.root = os.path.join(cls.work, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True, timeout=TIMEOUT)
        cls.bin = os.path.join(cls.root, "usr", "bin")
        cls.modules = os.path.join(cls.root, "usr", "lib", triplet(), "mqtk")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)

    def staged(self, name):
        return os.path.join(self.bin, name)

    def env(self):
        # Nothing from the build tree on PATH: mqtk must run the staged tools.
        path = [p for p in os.environ.get("PATH", "").split(os.pathsep)
                if os.path.realpath(p) != os.path.realpath(BIN_DIR)]
        return dict(os.environ, PATH=os.pathsep.join(path))

    def test_control_names_the_libraries_the_tools_and_modules_need(self):
        control = subprocess.run(["dpkg-deb", "-f", self.deb], capture_output=True, check=True,
                                 text=True).stdout
        fields = dict(re.findall(r"^(\S+): (.*)$", control, re.M))
        self.assertEqual(fields["Package"], "mqtk")
        version = subprocess.run([self.staged("mqtk"), "--version"], capture_output=True, text=True,
                                 env=self.env()).stdout.split()[1]
        self.assertEqual(fields["Version"], version)
        depends = {d.split()[0] for d in fields["Depends"].split(", ")}
        # libc and C++ for every tool, libfmt, libmosquitto (mqtk-bench), libssl3
        # (the TLS module), ncurses (the terminal module).
        for library in ("libc6", "libstdc++6", "libfmt9", "libmosquitto1", "libssl3", "libncursesw6"):
            self.assertIn(library, depends)
        self.assertNotIn("libpaho-mqtt1.3", depends, "Paho is linked in statically")

    def test_files_where_debian_expects_them(self):
        for name in TOOLS:
            self.assertTrue(os.access(self.staged(name), os.X_OK), name)
        for module in ("mqtk-paho-tls.so", "mqtk-terminal.so"):
            self.assertTrue(os.path.isfile(os.path.join(self.modules, module)), module)
        usr = os.path.join(self.root, "usr")
        for page in MAN_PAGES:
            path = os.path.join(usr, "share", "man", page)
            with open(path, "rb") as f:
                self.assertEqual(f.read(2), b"\x1f\x8b", f"{page} is gzip-compressed")
            # (mandoc decompresses only the first of several files: one at a time.)
            r = subprocess.run(["mandoc", "-Tlint", "-W", "warning", path], capture_output=True)
            self.assertEqual((r.returncode, r.stdout + r.stderr), (0, b""), page)
        for doc in ("copyright", "changelog.gz", "mqtk-bench-result.schema.json"):
            self.assertTrue(os.path.isfile(os.path.join(usr, "share", "doc", "mqtk", doc)), doc)
        bash = os.path.join(usr, "share", "bash-completion", "completions")
        fish = os.path.join(usr, "share", "fish", "vendor_completions.d")
        self.assertTrue(os.path.isfile(os.path.join(usr, "share", "zsh", "vendor-completions", "_mqtk")))
        for name in TOOLS:
            self.assertTrue(os.path.isfile(os.path.join(bash, name)), name)
            self.assertTrue(os.path.isfile(os.path.join(fish, name + ".fish")), name)
        # The installed completion files work, loaded under a tool's name.
        self.assertEqual(bash_complete("mqtk-sub -q ", script=os.path.join(bash, "mqtk-sub")), ["0", "1", "2"])
        self.assertEqual(bash_complete("mqtk b", script=os.path.join(bash, "mqtk")), ["bench"])
        if FISH:
            self.assertEqual(fish_complete(["mqtk-pub --qo"], directory=fish)["mqtk-pub --qo"], ["--qos"])

    def test_installed_tools_run_against_a_broker(self):
        env = self.env()
        sub = self.spawn([self.staged("mqtk"), "sub", "-p", self.port, "-i", "staged-sub", "-t", "deb/#", "-v",
                          "-C", "2"], env=env)
        self.wait_subscribed(self.broker, "staged-sub", sub)
        # The front command became the staged mqtk-sub (beside it), not a build's.
        self.assertEqual(os.readlink(f"/proc/{sub.pid}/exe"), self.staged("mqtk-sub"))
        r = subprocess.run([self.staged("mqtk-pub"), "-p", self.port, "-t", "deb/a", "-m", "one"],
                           capture_output=True, timeout=TIMEOUT, env=env, cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        r = subprocess.run([self.staged("mqtk"), "pub", "-p", self.port, "-t", "deb/b", "-l"], input=b"two\n",
                           capture_output=True, timeout=TIMEOUT, env=env, cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"deb/a one\ndeb/b two\n", b""))
        r = subprocess.run([self.staged("mqtk-pub"), "-p", self.port, "-t", "deb/kept", "-r", "-q", "1", "-m", "x"],
                           capture_output=True, timeout=TIMEOUT, env=env, cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        r = subprocess.run([self.staged("mqtk-retain-clear"), "-p", self.port, "-t", "deb/#", "--dry-run", "-j"],
                           capture_output=True, timeout=TIMEOUT, env=env, cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b"mqtk-retain-clear: would clear 1 retained message (1 bytes) "
                                                       b"under 'deb/#'; nothing changed (--dry-run)\n"))
        self.assertIn(b'{"topic":"deb/kept","payloadlen":1,"status":"would_clear"}', r.stdout)
        r = subprocess.run([self.staged("mqtk"), "bench", "pubsub", "-p", self.port, "-n", "50", "--drain", "1",
                            "-j"], capture_output=True, timeout=TIMEOUT * 2, env=env, cwd=self.cwd)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b'"command":"pubsub"', r.stdout.replace(b" ", b""))

    @unittest.skipIf(OPENSSL is None, "openssl command not installed")
    def test_the_tls_module_is_found_from_the_staged_binary(self):
        pki = tempfile.mkdtemp(prefix="mqtk-pki-")
        self.addCleanup(shutil.rmtree, pki, ignore_errors=True)
        os.chmod(pki, 0o755)
        ca_key, ca = make_ca(pki, "mqtk-deb-ca")
        key, cert = make_server_cert(pki, ca_key, ca, "localhost")
        tls = self.extra_broker(extra_config=f"cafile {ca}\ncertfile {cert}\nkeyfile {key}\n")
        env = self.env()
        sub = self.spawn([self.staged("mqtk-sub"), "-h", "localhost", "-p", str(tls.port), "--cafile", ca,
                          "-i", "staged-tls", "-t", "tls/t", "-C", "1"], env=env)
        self.wait_subscribed(tls, "staged-tls", sub)
        with open(f"/proc/{sub.pid}/maps") as f:
            maps = f.read()
        self.assertIn(os.path.join(self.modules, "mqtk-paho-tls.so"), maps)
        self.assertNotIn(os.path.join(os.path.realpath(BIN_DIR), "mqtk-paho-tls.so"), maps)
        r = subprocess.run([self.staged("mqtk"), "pub", "-h", "localhost", "-p", str(tls.port), "--cafile", ca,
                            "-t", "tls/t", "-m", "over tls"], capture_output=True, timeout=TIMEOUT, env=env,
                           cwd=self.cwd)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(sub), (0, b"over tls\n", b""))
        r = subprocess.run([self.staged("mqtk"), "--version"], capture_output=True, text=True, env=env)
        self.assertRegex(r.stdout, r"OpenSSL \d+\.\d+\.\d+.*\(loaded for TLS connections only\)")

    @unittest.skipUnless(shutil.which("lintian"), "lintian is not installed (scripts/deps installs it)")
    def test_lintian_reports_only_tags_readme_explains(self):
        if sanitizer_build():
            # Such a .deb is never shipped; its tools carry the sanitizer
            # runtime's strings (lintian: spelling-error-in-binary).
            self.skipTest("a sanitizer build (scripts/sanitize): lintian judges only the default build's package")
        r = subprocess.run(["lintian", "-I", "--pedantic", "--tag-display-limit", "0", self.deb],
                           capture_output=True, text=True, timeout=600)
        tags = sorted({m for m in re.findall(r"^[EWIPX]: mqtk[^:]*: (\S+)", r.stdout, re.M)})
        errors = re.findall(r"^[EW]: .*$", r.stdout, re.M)
        self.assertEqual(errors, [], "lintian errors or warnings")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        unexplained = sorted(set(tags) - readme_lintian_tags())
        self.assertEqual(unexplained, [], f"lintian tags not explained in README's lintian table:\n{r.stdout}")


if __name__ == "__main__":
    unittest.main()
