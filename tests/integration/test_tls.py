"""TLS against a real mosquitto with a test CA: verification is on by
default, a wrong CA or a wrong host name fails, --insecure skips only the
host name check; each failed check is named on one stderr line and ends the
tool with exit 8 (mosquitto's MOSQ_ERR_TLS)."""

import os
import shutil
import subprocess
import tempfile
import time
import unittest

from mqtk_testing import MOSQUITTO_PUB, BrokerTestCase, free_port, tool, wait_for

OPENSSL = shutil.which("openssl")


def make_ca(directory, name):
    key = os.path.join(directory, f"{name}.key")
    cert = os.path.join(directory, f"{name}.pem")
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", f"/CN={name}"], check=True, capture_output=True)
    return key, cert


def make_server_cert(directory, ca_key, ca_cert, host, name="server"):
    key = os.path.join(directory, f"{name}.key")
    csr = os.path.join(directory, f"{name}.csr")
    cert = os.path.join(directory, f"{name}.pem")
    ext = os.path.join(directory, f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName=DNS:{host}\n")
    subprocess.run([OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", f"/CN={host}"], check=True, capture_output=True)
    subprocess.run([OPENSSL, "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial",
                    "-out", cert, "-days", "2", "-extfile", ext], check=True, capture_output=True)
    for path in (key, cert):
        os.chmod(path, 0o644)
    return key, cert


def make_dated_cert(directory, ca_key, ca_cert, name, start, end):
    """A certificate for localhost valid from `start` to `end` (YYYYMMDDHHMMSSZ),
    signed by the CA with `openssl ca`, which sets both dates (no clock
    faking needed)."""
    db = os.path.join(directory, f"{name}-db")
    os.makedirs(db, exist_ok=True)
    open(os.path.join(db, "index.txt"), "w").close()
    with open(os.path.join(db, "serial"), "w") as f:
        f.write("01\n")
    conf = os.path.join(directory, f"{name}-ca.cnf")
    with open(conf, "w") as f:
        f.write(f"[ca]\ndefault_ca = c\n[c]\ndatabase = {db}/index.txt\nserial = {db}/serial\n"
                f"new_certs_dir = {db}\ncertificate = {ca_cert}\nprivate_key = {ca_key}\ndefault_md = sha256\n"
                "policy = p\ncopy_extensions = copy\nunique_subject = no\n[p]\ncommonName = supplied\n")
    key = os.path.join(directory, f"{name}.key")
    csr = os.path.join(directory, f"{name}.csr")
    cert = os.path.join(directory, f"{name}.pem")
    subprocess.run([OPENSSL, "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    subprocess.run([OPENSSL, "ca", "-batch", "-config", conf, "-in", csr, "-out", cert, "-startdate", start,
                    "-enddate", end], check=True, capture_output=True)
    for path in (key, cert):
        os.chmod(path, 0o644)
    return key, cert


# OpenSSL's configuration for a client whose policy stops at TLS 1.2 (a
# system policy that differs from the broker's).
MAX_TLS12_CONF = """openssl_conf = c
[c]
ssl_conf = s
[s]
system_default = d
[d]
MaxProtocol = TLSv1.2
"""


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
        cls.server = (key, cert)
        cls.elsewhere = make_server_cert(cls.pki, ca_key, cls.ca, "elsewhere.example", name="elsewhere")
        cls.client = make_server_cert(cls.pki, ca_key, cls.ca, "client-1", name="client")
        other_key, other_cert = os.path.join(cls.pki, "other-ca.key"), cls.other_ca
        cls.stranger = make_server_cert(cls.pki, other_key, other_cert, "stranger", name="stranger")
        cls.expired = make_dated_cert(cls.pki, ca_key, cls.ca, "expired", "20250101000000Z", "20250201000000Z")
        cls.future = make_dated_cert(cls.pki, ca_key, cls.ca, "future", "20990101000000Z", "20990201000000Z")
        cls.max_tls12 = os.path.join(cls.pki, "max-tls12.cnf")
        with open(cls.max_tls12, "w") as f:
            f.write(MAX_TLS12_CONF)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.pki, ignore_errors=True)

    def url(self, topic="tls/t"):
        return f"mqtts://localhost:{self.port}/{topic}"

    def tls_broker(self, server, extra=""):
        """Another broker whose TLS listener presents `server` (key, cert)."""
        key, cert = server
        return self.extra_broker(extra_config=f"cafile {self.ca}\ncertfile {cert}\nkeyfile {key}\n{extra}")

    def run_env(self, argv, env=None):
        return subprocess.run(argv, capture_output=True, timeout=30, cwd=self.cwd,
                              env=dict(os.environ, **(env or {})))

    def assert_tls_failure(self, result, endpoint, check, tool_name="mqtk-pub", code=8):
        """One stderr line: TOOL: TLS handshake with ENDPOINT failed: CHECK..."""
        err = result.stderr.decode(errors="replace")
        self.assertEqual(result.returncode, code, err)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertTrue(err.startswith(f"{tool_name}: TLS handshake with {endpoint} failed: {check}"), err)

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
                self.assert_tls_failure(r, f"localhost:{self.port}",
                                        "certificate not trusted: unknown CA (CN=localhost is issued by "
                                        "CN=mqtk-test-ca, which is not trusted); give the CA that signed it with "
                                        "--cafile or --capath\n")
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
        self.assert_tls_failure(r, f"127.0.0.1:{self.port}",
                                "host name mismatch (the certificate is for localhost, not 127.0.0.1); "
                                "--insecure skips this check\n")
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


    # Each failed check named --------------------------------------------------
    def test_self_signed_certificate_is_named(self):
        own = self.tls_broker(make_ca(self.pki, "lonely"))
        r = self.run_tool("mqtk-pub", "-h", "localhost", "-p", str(own.port), "--cafile", self.ca, "-t", "t", "-m", "x",
                          port=False)
        self.assert_tls_failure(r, f"localhost:{own.port}",
                                "certificate not trusted: unknown CA (CN=lonely is self-signed)")
        self.assertNotIn("Received PUBLISH", own.log())

    def test_certificate_for_another_host_is_named(self):
        b = self.tls_broker(self.elsewhere)
        r = self.run_tool("mqtk-pub", "-h", "localhost", "-p", str(b.port), "--cafile", self.ca, "-t", "t", "-m", "x",
                          port=False)
        self.assert_tls_failure(r, f"localhost:{b.port}",
                                "host name mismatch (the certificate is for elsewhere.example, not localhost); "
                                "--insecure skips this check\n")
        r = self.run_tool("mqtk-pub", "-h", "localhost", "-p", str(b.port), "--cafile", self.ca, "--insecure",
                          "-t", "t", "-m", "x", port=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""))

    def test_expired_and_not_yet_valid_certificates_are_named_in_every_tool(self):
        cases = [(self.expired, "certificate has expired (notAfter 2025-02-01 00:00:00 UTC, CN=localhost)\n"),
                 (self.future, "certificate is not yet valid (notBefore 2099-01-01 00:00:00 UTC, CN=localhost)\n")]
        for server, check in cases:
            b = self.tls_broker(server)
            conn = ["-h", "localhost", "-p", str(b.port), "--cafile", self.ca]
            endpoint = f"localhost:{b.port}"
            for tool_name, args in [("mqtk-pub", ["-t", "t", "-m", "x"]), ("mqtk-sub", ["-t", "t", "-C", "1"]),
                                    ("mqtk-retain-clear", ["-t", "t/#", "--yes"]), ("mqtk-sys-monitor", [])]:
                with self.subTest(check=check, tool=tool_name):
                    r = self.run_tool(tool_name, *conn, *args, port=False)
                    self.assert_tls_failure(r, endpoint, check, tool_name=tool_name)
            # mqtk-sys-monitor --once: Nagios UNKNOWN, the check on its line.
            r = self.run_tool("mqtk-sys-monitor", *conn, "--once", port=False)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertEqual(r.stdout.decode(), f"MQTT BROKER UNKNOWN - TLS handshake with {endpoint} failed: {check}")
            self.assertNotIn("Received PUBLISH", b.log())
            self.assertNotIn("Received SUBSCRIBE", b.log())

    def test_client_certificate_required_and_refused_are_named(self):
        b = self.tls_broker(self.server, "require_certificate true\n")
        conn = ["-h", "localhost", "-p", str(b.port), "--cafile", self.ca, "-t", "t", "-m", "x"]
        endpoint = f"localhost:{b.port}"
        # TLS 1.3 (the broker's alert comes after the client's side of the
        # handshake) and TLS 1.2 (during it).
        for env in ({}, {"OPENSSL_CONF": self.max_tls12}):
            with self.subTest(env=env):
                r = self.run_env([tool("mqtk-pub"), *conn], env)
                self.assert_tls_failure(r, endpoint, "the broker requires a client certificate (")
                self.assertIn(b"; give one with --cert and --key\n", r.stderr)
                r = self.run_env([tool("mqtk-pub"), *conn, "--cert", self.stranger[1], "--key", self.stranger[0]],
                                 env)
                self.assert_tls_failure(r, endpoint, "the broker refused the client certificate (")
                r = self.run_env([tool("mqtk-pub"), *conn, "--cert", self.client[1], "--key", self.client[0]], env)
                self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(b.log().count("Received PUBLISH"), 2, b.log())

    def test_no_shared_protocol_version_is_named(self):
        b = self.tls_broker(self.server, "tls_version tlsv1.3\n")
        r = self.run_env([tool("mqtk-pub"), "-h", "localhost", "-p", str(b.port), "--cafile", self.ca, "-t", "t",
                          "-m", "x"], {"OPENSSL_CONF": self.max_tls12})
        self.assert_tls_failure(r, f"localhost:{b.port}", "no TLS protocol version both sides accept (")
        self.assertNotIn("Received PUBLISH", b.log())

    def pub_with_version(self, b, version, env=None):
        return self.run_env([tool("mqtk-pub"), "-h", "localhost", "-p", str(b.port), "--cafile", self.ca,
                             "--tls-version", version, "-t", "t", "-m", version], env)

    def test_tls_version_pins_tls13(self):
        # The other tools share the flag and its TLS settings (connection/tls_settings).
        b = self.tls_broker(self.server, "tls_version tlsv1.3\n")
        r = self.pub_with_version(b, "tlsv1.2")
        self.assert_tls_failure(r, f"localhost:{b.port}", "no TLS protocol version both sides accept (")
        self.assertNotIn("Received PUBLISH", b.log())
        r = self.pub_with_version(b, "tlsv1.3")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(b.log().count("Received PUBLISH"), 1, b.log())

    def test_tls_version_pins_tls12(self):
        # mosquitto's tls_version is the listener's lowest version (a
        # tlsv1.2 listener also takes TLS 1.3).
        b = self.tls_broker(self.server, "tls_version tlsv1.2\n")
        r = self.pub_with_version(b, "tlsv1.2")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(b.log().count("Received PUBLISH"), 1, b.log())
        # Every Paho tool pins it.
        b = self.tls_broker(self.server, "tls_version tlsv1.3\n")
        conn = ["-h", "localhost", "-p", str(b.port), "--cafile", self.ca, "--tls-version", "tlsv1.2"]
        for tool_name, args in [("mqtk-sub", ["-t", "t", "-C", "1"]), ("mqtk-retain-clear", ["-t", "t/#", "--yes"]),
                                ("mqtk-sys-monitor", [])]:
            with self.subTest(tool=tool_name):
                r = self.run_tool(tool_name, *conn, *args, port=False)
                self.assert_tls_failure(r, f"localhost:{b.port}", "no TLS protocol version both sides accept (",
                                        tool_name=tool_name)
        self.assertNotIn("Received SUBSCRIBE", b.log())

    def test_plain_listener_is_named(self):
        plain = self.extra_broker()
        r = self.run_tool("mqtk-pub", "-h", "localhost", "-p", str(plain.port), "--cafile", self.ca, "-t", "t",
                          "-m", "x", port=False)
        self.assert_tls_failure(r, f"localhost:{plain.port}", "the broker did not answer in TLS (")
        self.assertNotIn("Received PUBLISH", plain.log())

    # TLS-PSK ------------------------------------------------------------------
    def psk_broker(self):
        psk_file = os.path.join(self.pki, "psk")
        with open(psk_file, "w") as f:
            f.write("lab-device:00a1b2c3d4e5f6\nother:1234\n")
        os.chmod(psk_file, 0o644)
        return self.extra_broker(extra_config=f"psk_hint mqtk-test\npsk_file {psk_file}\n")

    def test_psk_round_trip_keeps_the_key_off_the_process_list(self):
        b = self.psk_broker()
        psk = ["-h", "localhost", "-p", str(b.port), "--psk", "00a1b2c3d4e5f6", "--psk-identity", "lab-device"]
        sub = self.spawn([tool("mqtk-sub"), *psk, "-i", "psk-sub", "-t", "psk/t", "-C", "1", "-v"])
        self.wait_subscribed(b, "psk-sub", sub)
        with open(f"/proc/{sub.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        self.assertNotIn(b"00a1b2c3d4e5f6", cmdline)
        self.assertIn(b"\0**************\0", cmdline)
        self.assertIn(b"lab-device", cmdline)
        r = self.run_tool("mqtk-pub", *psk, "-t", "psk/t", "-m", "over psk", "-q", "1", port=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(sub), (0, b"psk/t over psk\n", b""))
        # mosquitto_pub with the same key reaches mqtk-sub too: the same bytes.
        sub = self.spawn([tool("mqtk-sub"), *psk, "-i", "psk-sub-2", "-t", "psk/t", "-C", "1"])
        self.wait_subscribed(b, "psk-sub-2", sub)
        r = self.run_cmd([MOSQUITTO_PUB, *psk, "-t", "psk/t", "-m", "from mosquitto_pub"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.finish(sub), (0, b"from mosquitto_pub\n", b""))
        # mqtk-bench (libmosquitto) takes the same flags.
        r = self.run_tool("mqtk-bench", "pubsub", *psk, "-n", "50", "--no-sys", port=False)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_wrong_psk_is_named(self):
        b = self.psk_broker()
        endpoint = f"localhost:{b.port}"
        conn = ["-h", "localhost", "-p", str(b.port), "-t", "psk/t", "-m", "x"]
        for env in ({}, {"OPENSSL_CONF": self.max_tls12}):
            for key, identity in (("00a1b2c3d4e5f7", "lab-device"), ("00a1b2c3d4e5f6", "nobody")):
                with self.subTest(env=env, key=key, identity=identity):
                    r = self.run_env([tool("mqtk-pub"), *conn, "--psk", key, "--psk-identity", identity], env)
                    self.assert_tls_failure(r, endpoint, "the broker refused the pre-shared key (")
                    self.assertTrue(r.stderr.endswith(b"; check --psk and --psk-identity\n"), r.stderr)
                    self.assertNotIn(key.encode(), r.stderr)
        # A certificate listener is no PSK listener, and no CA is trusted with --psk.
        r = self.run_tool("mqtk-pub", "-h", "localhost", "--psk", "00a1b2c3d4e5f6", "--psk-identity", "lab-device",
                          "-t", "psk/t", "-m", "x")
        self.assert_tls_failure(r, f"localhost:{self.port}", "the broker refused the pre-shared key (it answered "
                                "with a certificate: not a pre-shared key listener)")
        self.assertNotIn("Received PUBLISH", b.log())
        self.assertNotIn("Received PUBLISH", self.broker.log())

    def test_unusable_tls_settings_are_named_before_any_handshake(self):
        conn = ["-h", "localhost", "--cafile", self.ca, "-t", "t", "-m", "x"]
        endpoint = f"localhost:{self.port}"
        cases = [(["--cert", self.client[1], "--key", self.server[0]], f"--key {self.server[0]}: key values mismatch"),
                 (["--cert", self.client[0], "--key", self.client[0]], f"--cert {self.client[0]}: no start line"),
                 (["--ciphers", "NO-SUCH-CIPHER"], "--ciphers 'NO-SUCH-CIPHER': no cipher match")]
        for extra, detail in cases:
            with self.subTest(extra=extra):
                r = self.run_tool("mqtk-pub", *conn, *extra)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertEqual(r.stderr.decode(),
                                 f"mqtk-pub: cannot connect to {endpoint}: cannot use the TLS settings ({detail})\n")
        # A file that is not there is a usage error, as in mosquitto.
        for flag in ("--cafile", "--cert", "--key", "--capath"):
            with self.subTest(flag=flag):
                args = [flag, "/nonexistent/x"] + (["--key", self.client[0]] if flag == "--cert" else [])
                args += ["--cert", self.client[1]] if flag == "--key" else []
                r = self.run_tool("mqtk-pub", "-h", "localhost", *args, "-t", "t", "-m", "x")
                self.assert_usage_error(r, f"{flag}: cannot read '/nonexistent/x': No such file or directory")
        self.assertNotIn("Received PUBLISH", self.broker.log())


if __name__ == "__main__":
    unittest.main()
