"""mqtk-pub --json-lines: stdin lines in mqtk-sub -j's schema become messages
(topic, payload or payload_base64, qos, retain per line; -t/-q/-r as
defaults); bad lines are skipped and named; mqtk-sub -j | mqtk-pub
--json-lines round-trips JSON, text and binary payloads."""

import json
import unittest

from mqtk_testing import BrokerTestCase, publishes_in_log


class JsonLinesInTest(BrokerTestCase):
    def test_round_trip_through_sub_j(self):
        payloads = [b'{"ax":1.50,"ay":[1,2]}', b"42", b"plain text", b"caf\xc3\xa9\n", b"\x00\x01\xff\xfe"]
        for i, p in enumerate(payloads):
            r = self.run_tool("mqtk-pub", "-t", f"rt/{i}", "-s", "-r", "-q", "1", input=p)
            self.assertEqual(r.returncode, 0, r.stderr)
        dump = self.run_tool("mqtk-sub", "-t", "rt/#", "-j", "--retained-only", "-W", "5")
        self.assertEqual(dump.returncode, 27, dump.stderr)  # -W ends it: nothing else arrives
        lines = dump.stdout.splitlines()
        self.assertEqual(len(lines), len(payloads))
        # Rename the tree as jq would and republish: same payloads, new topics.
        renamed = b"\n".join(l.replace(b'"topic":"rt/', b'"topic":"copy/') for l in lines) + b"\n"
        sub = self.spawn_sub("-t", "copy/#", "-C", str(len(payloads)), "-F", "%t %x %r %q")
        r = self.run_tool("mqtk-pub", "--json-lines", input=renamed)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, err), (0, b""))
        got = sorted(out.decode().splitlines())
        # Live delivery: retain 0, QoS as subscribed (0); the lines said retain true.
        want = sorted(f"copy/{i} {p.hex()} 0 0" for i, p in enumerate(payloads))
        self.assertEqual(got, want)
        # They were retained: a fresh subscriber sees all five, byte for byte.
        again = self.run_tool("mqtk-sub", "-t", "copy/#", "--retained-only", "-W", "5", "-F", "%t %x %r")
        self.assertEqual(sorted(again.stdout.decode().splitlines()),
                         sorted(f"copy/{i} {p.hex()} 1" for i, p in enumerate(payloads)))

    def test_defaults_and_per_line_values(self):
        lines = (b'{"payload":"d"}\n'
                 b'{"topic":"jl/own","payload":"o","qos":2,"retain":false}\n'
                 b'{"topic":"jl/mixed","payload":"m","qos":0}\n'
                 b'{"topic":"jl/last","payload":"l","qos":1}\n')
        r = self.run_tool("mqtk-pub", "-i", "jl-pub", "-t", "jl/default", "-q", "1", "-r", "--json-lines",
                          input=lines)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        seen = [(topic, qos, retain) for qos, retain, topic, _ in publishes_in_log(self.broker, "jl-pub")]
        self.assertEqual(seen, [("jl/default", 1, 1), ("jl/own", 2, 0), ("jl/mixed", 0, 1), ("jl/last", 1, 1)])

    def test_every_kind_of_bad_line(self):
        bad = [
            (b"not json", "not valid JSON"),
            (b'["a","b"]', "not a JSON object"),
            (b'{"payload":"x"}', 'no "topic" (and no -t for lines without one)'),
            (b'{"topic":"a/+","payload":"x"}', "wildcard '+' at position 3"),
            (b'{"topic":"","payload":"x"}', "empty topic is not allowed"),
            (b'{"topic":"t"}', 'no "payload" or "payload_base64"'),
            (b'{"topic":"t","payload_base64":"%%%"}', '"payload_base64" is not base64'),
            (b'{"topic":"t","payload":"x","qos":3}', '"qos" must be 0, 1 or 2, not 3'),
            (b'{"topic":"t","payload":"x","retain":"yes"}', '"retain" must be true or false'),
            (b'{"topic":"t\\u0001","payload":"x"}', "control character U+0001"),
            # A topic's MQTT UTF-8 rules hold per line, as for -t (test_bad_arguments).
            (b'{"topic":"t\\u0000","payload":"x"}', "topic contains a NUL character at position 2"),
            (b'{"topic":"a/\\uffff","payload":"x"}', "noncharacter U+FFFF at position 3"),
            (b'{"topic":"a\\u0085","payload":"x"}', "control character U+0085 at position 2"),
            (b'{"topic":"a/\xff","payload":"x"}', "not valid JSON"),
            (b'{"topic":"' + b"a" * 65536 + b'","payload":"x"}', "topic is 65536 bytes long"),
        ]
        good = b'{"topic":"jl/ok","payload":"fine"}'
        text = b"\n".join([good] + [line for line, _ in bad] + [b"", good]) + b"\n"
        sub = self.spawn_sub("-t", "jl/#", "-C", "2", "-v")
        r = self.run_tool("mqtk-pub", "--json-lines", "-q", "1", input=text)
        self.assertEqual(r.returncode, 0, r.stderr)
        err = r.stderr.decode()
        for n, (_, why) in enumerate(bad, start=2):
            self.assertIn(f"mqtk-pub: line {n}: ", err)
            self.assertIn(why, err.splitlines()[n - 2])
        self.assertIn(f"mqtk-pub: {len(bad)} of {len(bad) + 3} lines skipped", err)
        rc, out, _ = self.finish(sub)
        self.assertEqual((rc, out), (0, b"jl/ok fine\njl/ok fine\n"))
        # --quiet: the skips are silent, the good lines still go out.
        r = self.run_tool("mqtk-pub", "--json-lines", "--quiet", input=text)
        self.assertEqual((r.returncode, r.stderr), (0, b""))

    def test_where_and_alerts_apply(self):
        lines = b"".join(json.dumps({"topic": f"jl/{i}", "payload": {"v": i}}).encode() + b"\n" for i in range(6))
        sub = self.spawn_sub("-t", "jl/#", "-t", "alerts", "-C", "3", "-v")
        r = self.run_tool("mqtk-pub", "--json-lines", "--where", ".v >= 4", "--alert-topic", "alerts",
                          "--alert-when", ".v == 5", "--alert-message", "high on {topic}", input=lines)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, _ = self.finish(sub)
        self.assertEqual(rc, 0)
        self.assertEqual(sorted(out.decode().splitlines()),
                         sorted(['jl/4 {"v": 4}', 'jl/5 {"v": 5}', "alerts high on jl/5"]))

    def test_usage_errors_publish_nothing(self):
        for args, needle in [(["--json-lines", "-m", "x"], "only one of -m, -f, -s, -l, --json-lines and -n"),
                             (["--json-lines", "-l"], "only one of"),
                             (["--json-lines", "--repeat", "2"], "--repeat cannot be used with --json-lines"),
                             (["--json-lines", "--fields", "a,b"], "--json-lines lines name their own fields")]:
            with self.subTest(args=args):
                self.assert_usage_error(self.run_tool("mqtk-pub", *args, input=b'{"topic":"t","payload":1}\n'),
                                        needle)
        self.assert_nothing_published()


if __name__ == "__main__":
    unittest.main()
