"""Bad command lines: exit 1, one clear line naming the flag, no exception
dump, and nothing connected or published (checked in the broker's log)."""

import os
import shutil
import tempfile
import unittest

from mqtk_testing import MOSQUITTO_PUB, MOSQUITTO_SUB, BrokerTestCase


class BadArgumentsTest(BrokerTestCase):
    def check(self, name, args, *needles, input=b"", port=True):
        r = self.run_tool(name, *args, input=input, port=port)
        self.assert_usage_error(r, *needles)
        err = r.stderr.decode(errors="replace")
        lines = err.splitlines()
        # One error line, then the pointer to --help.
        self.assertEqual(len(lines), 2, err)
        self.assertTrue(lines[0].startswith(f"{name}: "), err)
        self.assertEqual(lines[1], f"Run '{name} --help' for usage.")
        self.assertLess(len(lines[0]), 300, "error line is unreadably long")
        self.assertEqual(r.stdout, b"")
        self.assert_no_connection()
        self.assert_nothing_published()
        return lines[0]

    # Topic bytes: every tool and flag that takes a topic -----------------
    # Topic names and filters are MQTT UTF-8 strings (MQTT 1.5.4): argv
    # cannot hold a NUL (--json-lines can: test_json_lines_in). Control
    # characters and noncharacters are allowed by MQTT (SHOULD NOT) but
    # refused by mosquitto's clients and broker (it closes the connection):
    # mqtk refuses them too, with mosquitto's exit code 1.
    BAD_TOPIC_BYTES = (
        (b"a/\xff", "is not valid UTF-8: byte 0xFF at position 3 is a byte that is never in UTF-8"),
        (b"\x80a", "is not valid UTF-8: byte 0x80 at position 1 is a continuation byte that continues nothing"),
        (b"ab\xe2\x82", "is not valid UTF-8: byte 0xE2 at position 3 is a character cut short"),
        (b"a\xc0\xaf", "is not valid UTF-8: byte 0xC0 at position 2 is an overlong encoding"),
        (b"a\xe0\x80\xaf", "is not valid UTF-8: byte 0xE0 at position 2 is an overlong encoding"),
        (b"a/\xed\xa0\x80", "is not valid UTF-8: byte 0xED at position 3 is a UTF-16 surrogate"),
        (b"\xf4\x90\x80\x80", "is not valid UTF-8: byte 0xF4 at position 1 is a code point beyond U+10FFFF"),
        (b"a\x01", "holds the control character U+0001 at position 2, which brokers refuse"),
        (b"a\tb", "holds the control character U+0009 at position 2, which brokers refuse"),
        (b"a\x7f", "holds the control character U+007F at position 2, which brokers refuse"),
        (b"a\xc2\x85", "holds the control character U+0085 at position 2, which brokers refuse"),
        (b"a\xef\xbf\xbf", "holds the noncharacter U+FFFF at position 2, which brokers refuse"),
        (b"a" * 65536, "is 65536 bytes long; MQTT allows at most 65535"),
    )

    # (tool, args before, flag, args after, what the flag takes)
    TOPIC_FLAGS = (
        ("mqtk-pub", [], "-t", ["-m", "x"], "topic"),
        ("mqtk-pub", ["-t", "a", "-m", "x", "--alert-when", ".x > 1"], "--alert-topic", [], "topic"),
        ("mqtk-pub", ["-t", "a", "-m", "x"], "--will-topic", [], "topic"),
        ("mqtk-sub", [], "-t", [], "topic filter"),
        ("mqtk-sub", ["-t", "a"], "-T", [], "topic filter"),
        ("mqtk-sub", ["-t", "a"], "-U", [], "topic filter"),
        ("mqtk-sub", ["-t", "a", "--alert-when", ".x > 1"], "--alert-topic", [], "topic"),
        ("mqtk-retain-clear", [], "-t", [], "topic filter"),
        ("mqtk-retain-clear", ["-t", "a"], "-T", [], "topic filter"),
        ("mqtk-retain-clear", ["-t", "a"], "--marker-topic", [], "topic"),
        ("mqtk-sys-monitor", ["--alert-when", ".x > 1"], "--alert-topic", [], "topic"),
        ("mqtk-bench", ["pub", "-n", "1"], "-t", [], "topic"),
        ("mqtk-bench", ["sub", "-n", "1"], "-t", [], "topic filter"),
        ("mqtk-bench", ["pubsub", "-n", "1", "-t", "a"], "--sub-topic", [], "topic filter"),
    )

    def test_topics_must_be_mqtt_utf8_in_every_tool(self):
        for name, before, flag, after, what in self.TOPIC_FLAGS:
            for topic, why in self.BAD_TOPIC_BYTES:
                with self.subTest(name=name, flag=flag, topic=topic[:12]):
                    # mqtk-bench takes -p after its command.
                    bench = name == "mqtk-bench"
                    args = before[:1] + ["-p", self.port] + before[1:] if bench else before
                    self.check(name, args + [flag, topic] + after, f"{name}: {flag}: {what} {why}", port=not bench)
        # mqtk-sys-monitor's -t: the same check, before its "$SYS filter" rule.
        self.check("mqtk-sys-monitor", ["-t", b"$SYS/\xed\xbf\xbf"], "-t: topic filter is not valid UTF-8",
                   "surrogate")

    def test_bad_topic_bytes_exit_as_mosquitto_clients(self):
        # mosquitto_pub/mosquitto_sub 2.0: "Error: Malformed UTF-8 in -t
        # argument." (or "Invalid publish topic" for the length), exit 1.
        port = ["-p", self.port]
        for topic, _ in self.BAD_TOPIC_BYTES:
            for argv in ([MOSQUITTO_PUB, "-t", topic, "-m", "x"], [MOSQUITTO_SUB, "-t", topic],
                         [MOSQUITTO_SUB, "-t", "a", "-T", topic], [MOSQUITTO_SUB, "-t", "a", "-U", topic]):
                with self.subTest(argv=argv[1:3], topic=topic[:12]):
                    r = self.run_cmd(argv[:1] + port + argv[1:])
                    self.assertEqual(r.returncode, 1, r.stderr)
        self.assert_no_connection()

    def test_empty_levels_and_other_characters_are_valid_topics(self):
        topics = ["/", "a//b", "//", "caf\u00e9\u00a0/\U0001f600"]
        sub = self.spawn_sub("-t", "#", "-t", "+//+", "-C", str(len(topics)), "-F", "%t")
        for t in topics:
            r = self.run_tool("mqtk-pub", "-t", t, "-m", "x", "-q", "1")
            self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, err), (0, b""))
        self.assertEqual(out.decode().splitlines(), topics)

    # Both tools ---------------------------------------------------------
    def test_plain_words(self):
        # Each names the flag, what it takes and, where one exists, a
        # suggestion; never the parser's own text.
        cases = [
            ("mqtk-sub", ["-t", "a", "--cooldown", "-3"], "mqtk-sub: --cooldown: expected seconds, 0 or more, not '-3'"),
            ("mqtk-sub", ["-t", "a", "-q", "one"], "mqtk-sub: -q/--qos: expected 0, 1 or 2, not 'one'"),
            ("mqtk-pub", ["-t", "a", "-m", "x", "-q", "3"], "mqtk-pub: -q/--qos: expected 0, 1 or 2, not '3'"),
            ("mqtk-sub", ["-t", "a", "--qso", "1"], "mqtk-sub: unknown option '--qso'; did you mean --qos?"),
            ("mqtk-sub", ["-t", "a", "--retain-only"], "mqtk-sub: unknown option '--retain-only'; did you mean --retained-only?"),
            ("mqtk-sub", ["-t", "a", "--bogus"], "mqtk-sub: unknown option '--bogus'"),
            ("mqtk-pub", ["-t", "a", "-m", "a", "-m", "b"], "mqtk-pub: -m/--message was given more than once; it takes one value"),
            ("mqtk-sub", ["-t", "a", "--where", "-W", "0.2"],
             "mqtk-sub: --where: expected a value, not the option '-W' (give --where's value right after it)"),
            ("mqtk-sub", ["-t", "a", "-C"], "mqtk-sub: -C/--count needs a value: COUNT"),
            ("mqtk-sub", ["-t", "a", "-C", "0"], "mqtk-sub: -C/--count: expected a count of at least 1, not '0'"),
            ("mqtk-sub", ["-t", "a", "-W", "0"],
             "mqtk-sub: -W/--timeout: expected seconds from 0.001 to 31536000 (a year), not '0'"),
            ("mqtk-sub", ["-t", "a", "-W", "soon"],
             "mqtk-sub: -W/--timeout: expected seconds from 0.001 to 31536000 (a year), not 'soon'"),
            ("mqtk-sub", ["-t", "a", "-Q", "1"], "mqtk-sub: unknown option '-Q'; did you mean -q?"),
            ("mqtk-sub", ["-t", "a", "-Z"], "mqtk-sub: unknown option '-Z'"),
            ("mqtk-sub", ["-t", "a", "--alert-when", ".x", "--exec", "true"],
             "mqtk-sub: --alert-when needs --alert-topic (where to publish the alerts), or --exec-on alert with "
             "--exec (the command each alert runs)"),
            ("mqtk-sub", ["-t", "a", "-p", "0"], "mqtk-sub: -p/--port: expected a port from 1 to 65535, not '0'"),
            ("mqtk-pub", ["-t", "a", "-m", "x", "-k", "3"], "mqtk-pub: -k/--keepalive: expected seconds from 5 to 65535, not '3'"),
            ("mqtk-sub", ["-t", "a", "--random-filter", "200"],
             "mqtk-sub: --random-filter: expected a percentage from 0.1 to 100, not '200'"),
            ("mqtk-sub", ["-t", "a", "--exec-on", "sometimes", "--exec", "true"],
             "mqtk-sub: --exec-on: expected message or alert, not 'sometimes'"),
            ("mqtk-sys-monitor", ["--format", "jsn"],
             "mqtk-sys-monitor: --format: expected live, text, json or prometheus, not 'jsn' (did you mean json?)"),
            ("mqtk-sub", ["-t", "a", "extra"],
             "mqtk-sub: unexpected argument 'extra' (each option takes one value; quote a value with spaces)"),
        ]
        for name, args, message in cases:
            with self.subTest(args=args):
                self.assertEqual(self.check(name, args), message)

    def test_help_names_the_values(self):
        for name in ("mqtk-pub", "mqtk-sub", "mqtk-retain-clear", "mqtk-sys-monitor"):
            r = self.run_tool(name, "--help", port=False)
            text = r.stdout.decode()
            for raw in ("FLOAT", "INT:", "TEXT", "POSITIVE", "UINT", " in ["):
                self.assertNotIn(raw, text, f"{name} --help shows the parser's '{raw}'")
        text = self.run_tool("mqtk-sub", "--help", port=False).stdout.decode()
        for shown in ("-p,--port PORT", "-q,--qos QOS", "-W,--timeout SECONDS", "--where EXPR", "-t,--topic FILTER"):
            self.assertIn(shown, text)

    def test_exec_on(self):
        self.check("mqtk-sub", ["-t", "a", "--exec-on", "alert", "--exec", "true"],
                   "mqtk-sub: --exec-on alert needs --alert-when EXPR (the condition that raises an alert)")
        self.check("mqtk-sub", ["-t", "a", "--alert-when", ". == 1", "--exec-on", "alert"],
                   "mqtk-sub: --exec-on alert needs --exec CMD (the command each alert runs)")
        self.check("mqtk-sub", ["-t", "a", "--exec-on", "often", "--exec", "true"], "--exec-on")
        # Without --exec-on alert, an alert still needs a topic to go to.
        self.check("mqtk-sub", ["-t", "a", "--alert-when", ". == 1", "--exec", "true"],
                   "--alert-when needs --alert-topic")
        # An alert that only runs a command has no text to render.
        self.check("mqtk-sub", ["-t", "a", "--alert-when", ". == 1", "--alert-message", "x", "--exec-on", "alert",
                                "--exec", "true"], "--alert-message needs --alert-topic")

    def test_unknown_flag(self):
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "--bogus"], "--bogus")
        self.check("mqtk-sub", ["-t", "a", "--bogus"], "--bogus")
        # Options of the other tool are unknown too, as in mosquitto.
        self.check("mqtk-sub", ["-t", "a", "-m", "x"], "-m")
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "-C", "1"], "-C")

    def test_bad_qos(self):
        for name, base in (("mqtk-pub", ["-t", "a", "-m", "x"]), ("mqtk-sub", ["-t", "a"])):
            for q in ("3", "-1", "x"):
                with self.subTest(name=name, qos=q):
                    self.check(name, base + ["-q", q], "qos")
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "--will-topic", "w", "--will-qos", "3"], "will-qos")

    def test_bad_protocol_version(self):
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "-V", "4"], "-V", "'4'")
        self.check("mqtk-sub", ["-t", "a", "-V", "mqttv50"], "-V")

    def test_bad_session_expiry(self):
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "-x", "soon"], "-x", "not a number")
        self.check("mqtk-sub", ["-t", "a", "-x", "4294967296"], "-x", "out of range")
        self.check("mqtk-sub", ["-t", "a", "-x", "-2"], "-x", "out of range")
        # An infinite expiry needs a client id (mosquitto: same rule).
        self.check("mqtk-sub", ["-t", "a", "-V", "5", "-x", "-1"], "client id")
        self.check("mqtk-sub", ["-t", "a", "-V", "5", "-c"], "client id")

    def test_client_id_rules(self):
        self.check("mqtk-sub", ["-t", "a", "-c"], "-c", "-i")
        self.check("mqtk-sub", ["-t", "a", "-c", "-I", "pre"], "-c")
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "-i", "a", "-I", "b"], "-i and -I")

    def test_bad_keepalive_and_port(self):
        for k in ("0", "4", "65536", "x"):
            with self.subTest(k=k):
                self.check("mqtk-pub", ["-t", "a", "-m", "x", "-k", k], "keepalive")
        for p in ("0", "70000", "65536", "-1", "http", ""):
            with self.subTest(p=p):
                self.check("mqtk-sub", ["-t", "a", "-p", p], "port")
                # As mosquitto_sub ("Error: Invalid port given").
                r = self.run_cmd([MOSQUITTO_SUB, "-t", "a", "-p", p])
                self.assertEqual(r.returncode, 1, r.stderr)
        # The shared option in every other tool.
        for name, args in (("mqtk-pub", ["-t", "a", "-m", "x"]), ("mqtk-retain-clear", ["-t", "a"]),
                           ("mqtk-sys-monitor", [])):
            with self.subTest(name=name):
                self.check(name, args + ["-p", "65536"], "-p/--port: expected a port from 1 to 65535, not '65536'",
                           port=False)
        self.check("mqtk-bench", ["pub", "-n", "1", "-p", "0"], "-p/--port: expected a port from 1 to 65535, not '0'",
                   port=False)

    def test_bad_urls(self):
        for url, needle in (("localhost:1883/a", "-L"), ("http://h/a", "'http'"), ("mqtt:///a", "missing host"),
                            ("mqtt://h:port/a", "port"), ("mqtt://h:0/a", "port"), ("mqtt://h:65536/a", "port"),
                            ("mqtt://[::1/a", "']'"), ("mqtt://@h/a", "username")):
            with self.subTest(url=url):
                self.check("mqtk-pub", ["-L", url, "-m", "x"], "-L", needle)
                self.check("mqtk-sub", ["-L", url], "-L", needle)

    def test_a_bad_topic_in_the_url_is_named_as_the_urls(self):
        self.check("mqtk-pub", ["-L", "mqtt://localhost/a/b+", "-m", "x"],
                   "mqtk-pub: -L: invalid publish topic 'a/b+': wildcard '+' at position 4", port=False)
        self.check("mqtk-sub", ["-L", "mqtt://localhost/a/b#c"],
                   "mqtk-sub: -L: invalid topic filter 'a/b#c': '#' at position 4 must be the whole last level",
                   port=False)
        self.check("mqtk-sub", ["-t", "a#", "-L", "mqtt://localhost/ok"],
                   "mqtk-sub: -t: invalid topic filter 'a#'", port=False)

    def test_bad_url_never_shows_the_password(self):
        for url in ("mqtt://user:hunter2@h:port/a", "mqtt://user:hunter2@/a", "mqtt://user:hun/ter2@h/a"):
            with self.subTest(url=url):
                line = self.check("mqtk-pub", ["-L", url, "-m", "x"], "-L")
                self.assertNotIn("hunter2", line)
                self.assertNotIn("hun", line.replace("-L: invalid URL", ""))

    def test_will_flags_need_will_topic(self):
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "--will-payload", "bye"], "--will-topic")
        self.check("mqtk-sub", ["-t", "a", "--will-retain"], "--will-topic")
        self.check("mqtk-sub", ["-t", "a", "--will-topic", "w/+"], "--will-topic", "'+'")

    def test_unsupported_flags(self):
        for flag in (["-A", "127.0.0.1"], ["--unix", "/tmp/mqtk-nonexistent.sock"], ["--proxy", "socks5h://h:1080"],
                     ["--tls-engine", "pkcs11"], ["--tls-engine-kpass-sha1", "00"], ["--keyform", "engine"]):
            with self.subTest(flag=flag):
                self.check("mqtk-pub", ["-t", "a", "-m", "x"] + flag, "not supported", flag[0])
                self.check("mqtk-sub", ["-t", "a"] + flag, "not supported", flag[0])

    def test_bad_pre_shared_keys(self):
        # As mosquitto_pub: both flags, hex only, not with a CA; named, before connecting.
        for tool_name, rest in (("mqtk-pub", ["-t", "a", "-m", "x"]), ("mqtk-sub", ["-t", "a"])):
            with self.subTest(tool=tool_name):
                self.check(tool_name, rest + ["--psk", "00ff"], "--psk needs --psk-identity")
                self.check(tool_name, rest + ["--psk-identity", "me"], "--psk-identity needs --psk")
                self.check(tool_name, rest + ["--psk", "00fz", "--psk-identity", "me"],
                           "--psk: character 4 of the key is not a hex digit")
                self.check(tool_name, rest + ["--psk", "00ff", "--psk-identity", "me", "--cafile", "/dev/null"],
                           "--psk cannot be used with --cafile, --capath or --tls-use-os-certs")

    def test_bad_properties(self):
        # What mosquitto_pub refuses (and more: non-numbers, zero aliases),
        # with the -D argument named, before connecting.
        cases = [
            (["-D", "bogus", "content-type", "x"], "unknown command 'bogus'"),
            (["-D", "publish", "foo", "1"], "unknown property 'foo'"),
            (["-D", "connect", "content-type", "x"], "content-type is not allowed in connect"),
            (["-D", "publish", "subscription-identifier", "5"], "not allowed in publish"),
            (["-D", "publish", "payload-format-indicator", "256"], "out of range"),
            (["-D", "publish", "payload-format-indicator", "abc"], "not a number"),
            (["-D", "publish", "message-expiry-interval", "4294967296"], "out of range"),
            (["-D", "publish", "topic-alias", "0"], "out of range"),
            (["-D", "connect", "receive-maximum", "0"], "out of range"),
            (["-D", "publish", "correlation-data", "x", "-D", "publish", "correlation-data", "y"], "given twice"),
            (["-D", "publish", "response-topic", "a/#"], "response-topic"),
            (["-V", "311", "-D", "publish", "content-type", "x"], "need MQTT 5"),
            (["-x", "10", "-D", "connect", "session-expiry-interval", "5"], "give one"),
        ]
        for args, needle in cases:
            with self.subTest(args=args):
                self.check("mqtk-pub", ["-t", "a", "-m", "x"] + args, "-D", needle)
                self.check("mqtk-sub", ["-t", "a"] + args, "-D", needle)

    # mqtk-pub ----------------------------------------------------------
    def test_publish_topic_with_wildcards(self):
        for topic in ("a/+", "a/#", "+", "#", "a+b"):
            with self.subTest(topic=topic):
                self.check("mqtk-pub", ["-t", topic, "-m", "x"], "-t", f"'{topic}'", "wildcard")

    def test_empty_and_missing_topic(self):
        self.check("mqtk-pub", ["-t", "", "-m", "x"], "-t")
        self.check("mqtk-pub", ["-m", "x"], "-t")

    def test_missing_message(self):
        self.check("mqtk-pub", ["-t", "a"], "-m", "-f", "-s", "-l", "-n")

    def test_two_message_sources(self):
        for extra in (["-f", "/nonexistent"], ["-l"], ["-s"], ["-n"]):
            with self.subTest(extra=extra):
                self.check("mqtk-pub", ["-t", "a", "-m", "x"] + extra, "only one")
        self.check("mqtk-pub", ["-t", "a", "-s", "-l"], "only one")
        self.check("mqtk-pub", ["-t", "a", "-n", "-f", "/nonexistent"], "only one")

    def test_second_message_flag(self):
        # As mosquitto_pub ("Only one type of message can be sent at once").
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "-m", "y"], "-m")

    def test_missing_file(self):
        self.check("mqtk-pub", ["-t", "a", "-f", "/nonexistent/mqtk.bin"], "-f", "/nonexistent/mqtk.bin",
                   "No such file")

    def test_unreadable_file(self):
        # Opened but not readable: /proc/self/mem fails its first read with
        # EIO (the tests run as root, so a chmod 000 file would be read).
        # mosquitto_pub 2.0.11 prints "File must be less than 268435455
        # bytes" and exits 0 there; mqtk-pub names the read error, exit 1.
        line = self.check("mqtk-pub", ["-t", "a", "-f", "/proc/self/mem"], "-f")
        self.assertEqual(line, "mqtk-pub: -f '/proc/self/mem': read failed: Input/output error")

    def test_directory_as_file(self):
        d = tempfile.mkdtemp(prefix="mqtk-dir-")
        self.addCleanup(shutil.rmtree, d, True)
        self.check("mqtk-pub", ["-t", "a", "-f", d], "-f")

    def test_stdin_empty(self):
        self.check("mqtk-pub", ["-t", "a", "-s"], "-s", "empty", input=b"")

    def test_bad_repeat(self):
        self.check("mqtk-pub", ["-t", "a", "-l", "--repeat", "2"], "--repeat", "-l")

    def test_repeat_zero_has_a_short_message(self):
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "--repeat", "0"], "repeat")
        self.check("mqtk-pub", ["-t", "a", "-m", "x", "--repeat-delay", "-1"], "repeat-delay")

    # mqtk-sub ----------------------------------------------------------
    def test_no_topic(self):
        self.check("mqtk-sub", [], "-t")

    def test_bad_filters(self):
        for flag in ("-t", "-T", "-U"):
            for f, why in (("a/#/b", "'#'"), ("a#", "'#'"), ("a+", "'+'"), ("a/+b/c", "'+'"), ("", "empty")):
                with self.subTest(flag=flag, filter=f):
                    base = [] if flag == "-t" else ["-t", "ok"]
                    self.check("mqtk-sub", base + [flag, f], flag, why)

    def test_bad_format(self):
        for fmt, needles in (("%Z", ["-F", "'%Z'", "position 2"]),
                             ("abc%", ["-F", "incomplete %", "position 4"]),
                             ("%-5", ["-F", "incomplete %"]), ("x@", ["-F", "incomplete @"]),
                             ("a\\q", ["-F", "'\\q'", "position 2"]), ("x\\", ["-F", "incomplete \\"])):
            with self.subTest(fmt=fmt):
                self.check("mqtk-sub", ["-t", "a", "-F", fmt], *needles)

    def test_conflicting_flags(self):
        self.check("mqtk-sub", ["-t", "a", "-R", "--retained-only"], "-R", "--retained-only")
        self.check("mqtk-sub", ["-t", "a", "-j", "-F", "%t"], "-j", "-F")

    def test_count_and_timeout_must_be_positive(self):
        self.check("mqtk-sub", ["-t", "a", "-C", "-1"], "count")
        self.check("mqtk-sub", ["-t", "a", "-W", "-1"], "timeout")

    def test_count_timeout_and_random_filter_ranges(self):
        self.check("mqtk-sub", ["-t", "a", "-C", "0"], "count")
        self.check("mqtk-sub", ["-t", "a", "-W", "0"], "timeout")
        # mosquitto: 0.1 to 100. (-E would end an accepted case at once.)
        self.check("mqtk-sub", ["-t", "a", "-E", "--random-filter", "0"], "random-filter")
        self.check("mqtk-sub", ["-t", "a", "-E", "--random-filter", "100.1"], "random-filter")

if __name__ == "__main__":
    unittest.main()
