"""TLS against a real mosquitto with a test CA: verification is on by
default, a wrong CA or a wrong host name fails, --insecure skips only the
host name check."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from mqtk_testing import BrokerTestCase, free_port, tool, wait_for

OPENSSL = shutil.which("openssl")


def make_ca(directory, name):
    key = os.path.join(directory, f"{name}.key")
    cert = os.path.join(directory, f"{name}.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={name}"], check=True, capture_output=True)
    return key, cert


def make_server_cert(directory, ca_key, ca_cert, host):
    key = os.path.join(directory, "server.key")
    csr = os.path.join(directory, "server.csr")
    cert = os.path.join(directory, "server.pem")
    ext = os.path.join(directory, "server.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{host}\n")
    subprocess.run([OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", f"/CN={host}"], check=True, capture_output=True)
    subprocess.run([OPENSSL, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "2", "-extfile", ext], check=True, capture_output=True)
    for path in (key, cert):
        os.chmod(path, 0o644)
    return key, cert


@unittest.skipIf(OPENSSL is None, "openssl command not installed")
class TlsTest(BrokerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.pki = tempfile.mkdtemp(prefix="mqtk-pki-")
        os.chmod(cls.pki, 0o755)
        ca_key, cls.ca = make_ca(cls.pki, "mqtk-test-ca")
        _, cls.other_ca = make_ca(cls.pki, "other-ca")
        key, cert = make_server_cert(cls.pki, ca_key, cls.ca, "localhost")
        cls.broker_options = {"extra_config": f"cafile {cls.ca}\ncertfile {cert}\nkeyfile {key}\n"}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def url(self, topic="tls/t"):
        return f"mqtts://localhost:{self.port}/{topic}"

    def test_verified_round_trip(self):
        sub = self.spawn_sub("-h", "localhost", "--cafile", self.ca, "-t", "tls/t", "-C", "1", "-v")
        r = self.run_tool("mqtk-pub", "-L", self.url(), "--cafile", self.ca, "-m", "secret", "-q", "1",
                          port=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"tls/t secret\n", b""))

    def test_untrusted_certificate_is_refused(self):
        # Without --cafile only the system's CAs are trusted; with another CA
        # the chain does not verify either. Nothing may be published.
        for extra in ([], ["--cafile", self.other_ca]):
            with self.subTest(extra=extra):
                r = self.run_tool("mqtk-pub", "-L", self.url(), "-m", "x", *extra, port=False)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertIn(f"localhost:{self.port}".encode(), r.stderr)
                self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        self.assertNotIn("Received PUBLISH", self.broker.log())

    def test_bench_over_tls_verifies_the_broker(self):
        # mqtk-bench's engine (libmosquitto) with the same TLS flags: counts
        # add up over a verified connection; an untrusted CA is refused.
        import json
        r = self.run_tool("mqtk-bench", "pubsub", "-h", "localhost", "--cafile", self.ca, "-q", "1", "-n", "200",
                          "--no-sys", "-j", "-p", self.port, port=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        result = json.loads(r.stdout)
        self.assertEqual(result["qos"][1]["unique"], 200)
        self.assertTrue(result["parameters"]["tls"])
        r = self.run_tool("mqtk-bench", "pubsub", "-h", "localhost", "--cafile", self.other_ca, "-n", "10",
                          "--no-sys", "-p", self.port, port=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"localhost:{self.port}".encode(), r.stderr)
        self.assertEqual(r.stderr.count(b"\n"), 1, r.stderr)
        r = self.run_tool("mqtk-bench", "pubsub", "-h", "127.0.0.1", "--cafile", self.ca, "-n", "10", "--no-sys",
                          "-p", self.port, port=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        # TLS 1.3 pinned (libmosquitto can, unlike Paho).
        r = self.run_tool("mqtk-bench", "pub", "-h", "localhost", "--cafile", self.ca, "--tls-version", "tlsv1.3",
                          "-n", "10", "--no-sys", "-p", self.port, port=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        # A closed port over TLS is refused at once, not after --connect-timeout.
        started = time.monotonic()
        r = self.run_tool("mqtk-bench", "pub", "-h", "localhost", "--cafile", self.ca, "-c", "20", "-n", "1",
                          "--no-sys", "-p", str(free_port()), "--connect-timeout", "60", port=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"connection refused", r.stderr)
        self.assertLess(time.monotonic() - started, 30)

    def test_host_name_is_checked_unless_insecure(self):
        # The certificate names "localhost"; 127.0.0.1 does not match it.
        url = f"mqtts://127.0.0.1:{self.port}/tls/t"
        r = self.run_tool("mqtk-pub", "-L", url, "--cafile", self.ca, "-m", "x", port=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertNotIn("Received PUBLISH", self.broker.log())
        r = self.run_tool("mqtk-pub", "-L", url, "--cafile", self.ca, "--insecure", "-m", "x", port=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""))

    def test_tls_runs_on_the_module_built_beside_the_tools(self):
        # Paho's TLS build comes from mqtk-paho-tls.so next to the
        # executable (Debian's static build with mqtk's link-time changes),
        # not from Debian's shared libpaho-mqtt3as.
        sub = self.spawn_sub("-h", "localhost", "--cafile", self.ca, "-t", "tls/t", "-C", "1")
        with open(f"/proc/{sub.pid}/maps") as f:
            maps = f.read()
        self.assertIn(os.path.join(os.path.realpath(os.path.dirname(tool("mqtk-sub"))), "mqtk-paho-tls.so"), maps)
        self.assertNotIn("libpaho-mqtt3as", maps)
        r = self.run_tool("mqtk-pub", "-h", "localhost", "--cafile", self.ca, "-t", "tls/t", "-m", "x")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(sub), (0, b"x\n", b""))

    def test_large_lines_over_tls(self):
        # OpenSSL's writes are partial under backpressure: continued as soon
        # as the socket takes more, every line arrives whole and in order.
        n, width = 200, 64 * 1024
        data = b"".join(f"{i:06d}".encode() + b"t" * (width - 7) + b"\n" for i in range(n))
        sub = self.spawn_sub("-h", "localhost", "--cafile", self.ca, "-t", "tls/wide", "-C", str(n))
        r = self.run_tool("mqtk-pub", "-h", "localhost", "--cafile", self.ca, "-t", "tls/wide", "-l", input=data)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, err), (0, b""))
        self.assertTrue(out == data, "lines lost, changed or out of order")

    def test_missing_tls_module_is_named(self):
        # A copy of mqtk-pub without the module beside it: plain TCP needs no
        # Paho library at run time; TLS fails with one line naming the file.
        lonely = tempfile.mkdtemp(prefix="mqtk-bin-")
        try:
            pub = os.path.join(lonely, "mqtk-pub")
            shutil.copy(tool("mqtk-pub"), pub)
            plain = self.extra_broker()
            r = self.run_cmd([pub, "-p", str(plain.port), "-t", "plain/t", "-m", "x"])
            self.assertEqual((r.returncode, r.stderr), (0, b""))
            wait_for(lambda: "'plain/t'" in plain.log(), what="the plain publish to reach the broker")
            r = self.run_cmd([pub, "-h", "localhost", "-p", self.port, "--cafile", self.ca, "-t", "tls/t", "-m", "x"])
            self.assertEqual(r.returncode, 1)
            err = r.stderr.decode(errors="replace")
            self.assertEqual(err.count("\n"), 1, err)
            self.assertIn(os.path.join(lonely, "mqtk-paho-tls.so"), err)
            self.assertIn("cannot load the MQTT library for TLS: ", err)
        finally:
            shutil.rmtree(lonely, ignore_errors=True)
        self.assertNotIn("'tls/t'", self.broker.log())

    def test_cafile_turns_tls_on(self):
        # As in mosquitto: giving a CA file means TLS on -p.
        r = self.run_tool("mqtk-pub", "-h", "localhost", "--cafile", self.ca, "-t", "tls/t", "-m", "x")
        self.assertEqual((r.returncode, r.stderr), (0, b""))


if __name__ == "__main__":
    unittest.main()
