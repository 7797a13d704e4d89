"""mqtk-sub output formats end to end: -j JSON Lines, --pretty, -F with -N."""

import json
import unittest

from mqtk_testing import BrokerTestCase


class FormatsTest(BrokerTestCase):
    def receive(self, args, payloads, topic="fmt/a"):
        sub = self.spawn_sub("-t", "fmt/#", "-C", str(len(payloads)), *args)
        for p in payloads:
            r = self.run_tool("mqtk-pub", "-t", topic, *(["-s"] if p else ["-n"]), input=p or None)
            self.assertEqual(r.returncode, 0, r.stderr)
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, err), (0, b""))
        return out

    def test_json_lines_payload_kinds(self):
        out = self.receive(["-j"], [b'{"n": 21.50}', b"text", b"\x00\x01\xff", b"a\r\nb\n", b"", b"[1, 2"])
        lines = out.split(b"\n")
        self.assertEqual(lines[-1], b"")
        objs = [json.loads(line) for line in lines[:-1]]
        self.assertEqual(len(objs), 6)
        self.assertIn(b'"payload":{"n":21.50}', lines[0])
        self.assertEqual(objs[1]["payload"], "text")
        self.assertEqual(objs[2]["payload_base64"], "AAH/")
        self.assertEqual(objs[3]["payload"], "a\r\nb\n")
        self.assertEqual(objs[4]["payload"], "")
        self.assertEqual(objs[5]["payload"], "[1, 2")
        for o in objs:
            self.assertEqual(o["topic"], "fmt/a")
            self.assertEqual(o["qos"], 0)
            self.assertIs(o["retain"], False)

    def test_format_expressions(self):
        # %{EXPR} as jq -r prints it: a CSV for a spreadsheet without jq.
        out = self.receive(["-F", "%t,%{.ax},%{sqrt(.ax*.ax+.ay*.ay)},%{.label},%{.}"],
                           [b'{"ax":3,"ay":4.0,"label":"s1"}', b"text", b"\x00\x01\xff", b"12.5"])
        self.assertEqual(out.split(b"\n"), [b'fmt/a,3,5,s1,{"ax":3,"ay":4.0,"label":"s1"}', b"fmt/a,,,,text",
                                            b"fmt/a,,,,\x00\x01\xff", b"fmt/a,,,,12.5", b""])
        connections = self.broker.log().count("New client connected")
        r = self.run_tool("mqtk-sub", "-t", "x", "-F", "%{.ax >}")
        self.assert_usage_error(r, "-F %{...}: ")
        self.assertEqual(self.broker.log().count("New client connected"), connections, "refused before connecting")

    def test_json_lines_pretty(self):
        out = self.receive(["-j", "--pretty"], [b'{"a": {"b": [1, 2]}}'])
        self.assertTrue(out.startswith(b'{\n\t"tst":\t"'), out)
        self.assertTrue(out.endswith(b'\t"payload":\t{\n\t\t"a":\t{\n\t\t\t"b":\t[1, 2]\n\t\t}\n\t}\n}\n'), out)
        self.assertEqual(json.loads(out)["payload"], {"a": {"b": [1, 2]}})

    def test_format_binary_escapes(self):
        out = self.receive(["-F", "%p\\0%l\\t%x"], [b"\x00ab"])
        self.assertEqual(out, b"\x00ab\x003\t006162\n")

    def test_retained_json_lines(self):
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "fmt/r", "-m", "1", "-r", "-q", "1").returncode, 0)
        r = self.run_tool("mqtk-sub", "-t", "fmt/#", "-C", "1", "-j")
        self.assertEqual(r.returncode, 0)
        obj = json.loads(r.stdout)
        self.assertEqual((obj["topic"], obj["retain"], obj["payload"]), ("fmt/r", True, 1))


if __name__ == "__main__":
    unittest.main()
