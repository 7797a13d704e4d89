"""MQTT 5 properties against a real mosquitto: what mqtk-pub sends with -D
arrives as mosquitto_sub -F prints it (the oracle), mqtk-sub prints a
message's properties as mosquitto_sub does (-F %A %C %D %E %F %P %R %S) and
in -j; a subscription identifier, a will's properties and a connect
maximum packet size reach the broker; a topic alias stream arrives whole; a
request/response responder through --exec and its MQTT_* variables; a
SUBACK refusing one filter (mosquitto's dynamic security plugin) named with
its reason; expressions reading properties; shared subscriptions."""

import glob
import json
import os
import signal
import unittest

from mqtk_testing import MOSQUITTO_SUB, TIMEOUT, BrokerTestCase, tool, wait_for

MOSQUITTO_PUB = "mosquitto_pub"
DYNSEC = next(iter(glob.glob("/usr/lib/*/mosquitto_dynamic_security.so")), None)

PROPERTIES = ["-D", "publish", "content-type", "text/plain",
              "-D", "publish", "response-topic", "re/sp",
              "-D", "publish", "correlation-data", "req-42",
              "-D", "publish", "message-expiry-interval", "60",
              "-D", "publish", "payload-format-indicator", "1",
              "-D", "publish", "user-property", "unit", "g",
              "-D", "publish", "user-property", "unit", "m/s2"]
FORMAT = "[%t|%10C|%-8R|%D|%05E|%3F|%P|%4S|%.4C|%3A|%p]"


class Mqtt5Test(BrokerTestCase):
    def mosquitto_sub(self, *args):
        """A mosquitto_sub at MQTT 5, started and subscribed."""
        client_id = f"oracle-{len(self.procs)}"
        p = self.spawn([MOSQUITTO_SUB, "-p", self.port, "-V", "5", "-i", client_id] + list(args))
        self.wait_subscribed(self.broker, client_id, p)
        return p

    def test_published_properties_arrive_as_mosquitto_sub_prints_them(self):
        oracle = self.mosquitto_sub("-t", "m5/t", "-C", "2", "-F", FORMAT)
        mine = self.spawn_sub("-V", "5", "-t", "m5/t", "-C", "2", "-F", FORMAT)
        r = self.run_tool("mqtk-pub", "-t", "m5/t", "-m", "hello", *PROPERTIES)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        # Without properties: what is absent prints as mosquitto prints it.
        r = self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-V", "5", "-t", "m5/t", "-m", "plain"])
        self.assertEqual(r.returncode, 0, r.stderr)
        code, expected, err = self.finish(oracle)
        self.assertEqual(code, 0, err)
        self.assertIn(b"[m5/t|text/plain|re/sp   |req-42|00060|  1|unit:g unit:m/s2|    |text|   |hello]\n", expected)
        self.assertEqual(self.finish(mine), (0, expected, b""))

    def test_json_lines_carry_the_properties(self):
        sub = self.spawn_sub("-V", "5", "-t", "m5/j", "-C", "2", "-j")
        r = self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-V", "5", "-t", "m5/j", "-m", "{\"x\":1}",
                          "-D", "publish", "correlation-data", "req-1",
                          "-D", "publish", "user-property", "a", "1", "-D", "publish", "user-property", "a", "2",
                          "-D", "publish", "content-type", "application/json"])
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_tool("mqtk-pub", "-t", "m5/j", "-m", "plain", "-V", "5")
        self.assertEqual(r.returncode, 0, r.stderr)
        code, out, err = self.finish(sub)
        self.assertEqual((code, err), (0, b""))
        first, second = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(first["payload"], {"x": 1})
        self.assertEqual(first["properties"]["user_properties"], [["a", "1"], ["a", "2"]])
        self.assertEqual(first["properties"]["content_type"], "application/json")
        self.assertIn("correlation_data", first["properties"])
        self.assertNotIn("properties", second)

    def test_binary_correlation_data_is_base64_in_json(self):
        sub = self.spawn_sub("-V", "5", "-t", "m5/b", "-C", "1", "-j")
        # mqtk-pub sends the argument's bytes as they are.
        r = self.run_tool("mqtk-pub", "-t", "m5/b", "-m", "x", "-D", "publish", "correlation-data", b"\xff\x01")
        self.assertEqual(r.returncode, 0, r.stderr)
        code, out, err = self.finish(sub)
        self.assertEqual((code, err), (0, b""))
        self.assertEqual(json.loads(out)["properties"], {"correlation_data_base64": "/wE="})

    def test_subscription_identifier_and_connect_maximum_packet_size(self):
        sub = self.spawn_sub("-t", "m5/s", "-C", "1", "-F", "%S %p", "-D", "subscribe", "subscription-identifier",
                             "77", "-D", "connect", "maximum-packet-size", "200",
                             "-D", "subscribe", "user-property", "who", "test")
        # Larger than the subscriber allows: the broker does not send it.
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "m5/s", "-m", "x" * 500).returncode, 0)
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "m5/s", "-m", "small").returncode, 0)
        self.assertEqual(self.finish(sub), (0, b"77 small\n", b""))

    def test_will_properties(self):
        oracle = self.mosquitto_sub("-t", "m5/will", "-C", "1", "-F", "%C|%P|%p")
        sub = self.spawn_sub("-t", "m5/none", "--will-topic", "m5/will", "--will-payload", "gone",
                             "-D", "will", "content-type", "text/x-will", "-D", "will", "user-property", "k", "v")
        sub.send_signal(signal.SIGKILL)
        sub.wait()
        self.assertEqual(self.finish(oracle), (0, b"text/x-will|k:v|gone\n", b""))

    def test_topic_alias_stream_arrives_whole(self):
        oracle = self.mosquitto_sub("-t", "m5/alias", "-C", "3", "-v")
        r = self.run_tool("mqtk-pub", "-t", "m5/alias", "-l", "-D", "publish", "topic-alias", "1",
                          input=b"one\ntwo\nthree\n")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(oracle), (0, b"m5/alias one\nm5/alias two\nm5/alias three\n", b""))

    def test_topic_alias_with_several_topics_goes_to_each(self):
        oracle = self.mosquitto_sub("-t", "ta/#", "-C", "4", "-v")
        lines = b"".join(json.dumps({"topic": t, "payload": p}).encode() + b"\n"
                         for t, p in (("ta/one", "1"), ("ta/two", "2"), ("ta/two", "3"), ("ta/one", "4")))
        r = self.run_tool("mqtk-pub", "--json-lines", "-D", "publish", "topic-alias", "1", input=lines)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(self.finish(oracle), (0, b"ta/one 1\nta/two 2\nta/two 3\nta/one 4\n", b""))

    def test_disconnect_and_unsubscribe_properties_are_accepted(self):
        r = self.run_tool("mqtk-pub", "-t", "m5/d", "-m", "x", "-x", "30", "-D", "disconnect", "reason-string", "bye",
                          "-D", "disconnect", "session-expiry-interval", "0", "-D", "disconnect", "user-property",
                          "a", "b")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        r = self.run_tool("mqtk-sub", "-t", "m5/u", "-U", "m5/u", "-E", "-D", "unsubscribe", "user-property", "a",
                          "b")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertIn("Received DISCONNECT", self.broker.log())
        self.assertNotIn("protocol error", self.broker.log().lower())

    def test_a_message_over_the_brokers_maximum_packet_size_is_refused_with_the_limit(self):
        broker = self.extra_broker(extra_config="max_packet_size 200")
        r = self.run_tool("mqtk-pub", "-p", str(broker.port), "-V", "5", "-q", "1", "-t", "m5/big", "-m", "x" * 300,
                          port=False)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"at most 200 bytes (the maximum packet size of its CONNACK)", r.stderr)
        self.assertNotIn(b"Received PUBLISH", broker.log().encode())
        r = self.run_tool("mqtk-pub", "-p", str(broker.port), "-V", "5", "-q", "1", "-t", "m5/big", "-m", "x" * 150,
                          port=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""))

    def test_subscription_options(self):
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "so/kept", "-m", "old", "-r").returncode, 0)
        # --retain-handling 2: no retained messages at subscribe.
        none = self.spawn_sub("-V", "5", "-t", "so/kept", "-t", "so/end", "--retain-handling", "2", "-C", "1", "-v")
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "so/end", "-m", "end").returncode, 0)
        self.assertEqual(self.finish(none), (0, b"so/end end\n", b""))
        # --retain-as-published: a retained message forwarded live keeps its flag.
        plain = self.spawn_sub("-V", "5", "-t", "so/live", "--retain-handling", "2", "-C", "1", "-F", "%r %p")
        kept = self.spawn_sub("-V", "5", "-t", "so/live", "--retain-handling", "2", "--retain-as-published", "-C",
                              "1", "-F", "%r %p")
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "so/live", "-m", "now", "-r").returncode, 0)
        self.assertEqual(self.finish(plain), (0, b"0 now\n", b""))
        self.assertEqual(self.finish(kept), (0, b"1 now\n", b""))
        # --no-local: the alert this subscriber publishes on its own filter
        # does not come back to it.
        oracle = self.mosquitto_sub("-t", "nl/alert", "-C", "1")
        sub = self.spawn_sub("-V", "5", "--no-local", "-t", "nl/#", "--alert-when", ".v > 1", "--alert-topic",
                             "nl/alert", "--alert-message", "hot", "-C", "2", "-v")
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "nl/in", "-m", '{"v":5}').returncode, 0)
        self.assertEqual(self.finish(oracle), (0, b"hot\n", b""))
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "nl/end", "-m", "end").returncode, 0)
        self.assertEqual(self.finish(sub), (0, b'nl/in {"v":5}\nnl/end end\n', b""))

    def test_subscription_options_need_mqtt5(self):
        for flag in (["--no-local"], ["--retain-as-published"], ["--retain-handling", "1"]):
            with self.subTest(flag=flag):
                r = self.run_tool("mqtk-sub", "-t", "a", *flag)
                self.assert_usage_error(r, flag[0], "-V 5")
        self.assert_usage_error(self.run_tool("mqtk-sub", "-V", "5", "-t", "a", "--retain-handling", "3"),
                                "--retain-handling")
        self.assert_no_connection()

    def test_request_response_through_exec(self):
        # A responder in one command line: the request's response topic and
        # correlation data come in MQTT_* variables.
        pub = tool("mqtk-pub")
        script = (f'exec "{pub}" -p {self.port} -t "$MQTT_RESPONSE_TOPIC" '
                  '-D publish correlation-data "$MQTT_CORRELATION_DATA" '
                  '-m "pong for $MQTT_USER_PROPERTY_ASKER ($MQTT_CONTENT_TYPE)"')
        responder = self.spawn_sub("-V", "5", "-t", "svc/ping", "-C", "1", "--exec", "sh", "-c", script)
        oracle = self.mosquitto_sub("-t", "svc/reply/1", "-C", "1", "-F", "%D %p")
        r = self.run_tool("mqtk-pub", "-t", "svc/ping", "-m", "ping", "-D", "publish", "response-topic",
                          "svc/reply/1", "-D", "publish", "correlation-data", "c-17", "-D", "publish",
                          "user-property", "asker", "ann", "-D", "publish", "content-type", "text/plain")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.finish(oracle), (0, b"c-17 pong for ann (text/plain)\n", b""))
        code, _, err = self.finish(responder)
        self.assertEqual((code, err), (0, b""))

    def test_exec_gets_no_property_variables_from_outside(self):
        sub = self.spawn_sub("-V", "5", "-t", "m5/e", "-C", "1", "-F", "got %p", "--exec", "sh", "-c",
                             'echo "[${MQTT_RESPONSE_TOPIC-unset}]"', extra_env={"MQTT_RESPONSE_TOPIC": "leak"})
        self.assertEqual(self.run_tool("mqtk-pub", "-t", "m5/e", "-m", "x", "-V", "5").returncode, 0)
        code, out, err = self.finish(sub)
        self.assertEqual((code, err), (0, b""))
        self.assertEqual(sorted(out.splitlines()), [b"[unset]", b"got x"])

    def test_a_suback_refusing_one_filter_names_it_with_its_reason(self):
        # mosquitto's acl_file never refuses a SUBSCRIBE; its dynamic
        # security plugin does, per filter.
        if DYNSEC is None:
            self.skipTest("mosquitto's dynamic security plugin is not installed")
        config = os.path.join(self.broker.dir, "dynsec.json")
        with open(config, "w") as f:
            json.dump({"defaultACLAccess": {"publishClientSend": True, "publishClientReceive": True,
                                            "subscribe": True, "unsubscribe": True},
                       "clients": [], "anonymousGroup": "anon",
                       "groups": [{"groupname": "anon", "roles": [{"rolename": "student"}], "clients": []}],
                       "roles": [{"rolename": "student", "acls": [
                           {"acltype": "subscribePattern", "topic": "exam/#", "priority": 0, "allow": False}]}]}, f)
        broker = self.extra_broker(extra_config=f"plugin {DYNSEC}\nplugin_opt_config_file {config}")
        for version, why in [("5", "'exam/answers': Not authorized (reason code 135)"),
                             ("311", "'exam/answers' (reason code 128)")]:
            with self.subTest(version=version):
                client_id = f"refused-{version}"
                sub = self.spawn([tool("mqtk-sub"), "-p", str(broker.port), "-i", client_id, "-V", version,
                                  "-t", "exam/answers", "-t", "lab/t", "-C", "1", "-v"])
                self.wait_subscribed(broker, client_id, sub)
                r = self.run_tool("mqtk-pub", "-p", str(broker.port), "-t", "lab/t", "-m", "ok", port=False)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(self.finish(sub),
                                 (0, b"lab/t ok\n", f"mqtk-sub: broker refused the subscription to {why}\n".encode()))
                # Every filter refused: exit 1 (mosquitto_sub: 0).
                r = self.run_tool("mqtk-sub", "-p", str(broker.port), "-V", version, "-t", "exam/answers",
                                  port=False)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertEqual(r.stderr, f"mqtk-sub: broker refused the subscription to {why}\n"
                                           "mqtk-sub: every subscription was refused\n".encode())

    def test_expressions_read_properties(self):
        # A property in --where means MQTT 5 without -V, as -D does.
        sub = self.spawn_sub("-t", "ex/#", "-C", "2", "-v",
                             "--where", 'user_property("unit") == "celsius" or content_type == "text/csv"')
        for args in (["-t", "ex/a", "-m", "1", "-D", "publish", "user-property", "unit", "kelvin"],
                     ["-t", "ex/b", "-m", "2", "-D", "publish", "user-property", "unit", "celsius"],
                     ["-t", "ex/c", "-m", "3"],
                     ["-t", "ex/d", "-m", "4", "-D", "publish", "content-type", "text/csv"]):
            self.assertEqual(self.run_tool("mqtk-pub", *args).returncode, 0)
        self.assertEqual(self.finish(sub), (0, b"ex/b 2\nex/d 4\n", b""))
        for flag, extra in (("--where", []), ("--alert-when", ["--alert-topic", "al"])):
            with self.subTest(flag=flag):
                r = self.run_tool("mqtk-sub", "-t", "ex/#", "-V", "311", flag, "exists(response_topic)", *extra)
                self.assert_usage_error(r, f"{flag}: the expression reads an MQTT 5 property", "-V 311")
        self.assert_usage_error(self.run_tool("mqtk-sub", "-t", "a", "--where", "user_property(unit)"),
                                "--where: user_property() takes a quoted name")
        r = self.run_tool("mqtk-sub", "-t", "a", "-V", "31", "-F", '%{user_property("unit")} %p')
        self.assert_usage_error(r, "-F %{...}: the expression reads an MQTT 5 property")
        # The other tools' messages carry no properties: refused, not silently false.
        before = len(self.broker.log())
        for name, args in (("mqtk-pub", ["-t", "a", "-m", "1", "--where", "exists(content_type)"]),
                           ("mqtk-retain-clear", ["-t", "a", "--where", 'content_type == "x"']),
                           ("mqtk-sys-monitor", ["--warn-when", 'user_property("a") == "b"'])):
            with self.subTest(tool=name):
                self.assert_usage_error(self.run_tool(name, *args), "the expression reads an MQTT 5 property")
        self.assertNotIn("New client connected", self.broker.log()[before:])

    def test_shared_subscriptions(self):
        outs, procs = [], []
        for n in range(2):
            path = os.path.join(self.broker.dir, f"member-{n}.out")
            outs.append(path)
            with open(path, "wb") as out:
                p = self.spawn([tool("mqtk-sub"), "-p", self.port, "-i", f"member-{n}", "-t", "$share/grp/sh/#",
                                "-q", "1", "-v"], stdout=out)
            self.wait_subscribed(self.broker, f"member-{n}", p)
            procs.append(p)
        lines = "".join(f"{n}\n" for n in range(40)).encode()
        r = self.run_tool("mqtk-pub", "-t", "sh/n", "-l", "-q", "1", input=lines)
        self.assertEqual(r.returncode, 0, r.stderr)

        def received():
            got = []
            for path in outs:
                with open(path, "rb") as f:
                    got += [line.split()[1] for line in f.read().splitlines()]
            return got
        wait_for(lambda: len(received()) >= 40, what="40 messages across the group")
        for p in procs:
            p.send_signal(signal.SIGINT)
            self.assertEqual(self.finish(p), (0, None, b""))
        # Each message went to one member of the group, and both had some.
        self.assertEqual(sorted(received(), key=int), [str(n).encode() for n in range(40)])
        self.assertTrue(all(os.path.getsize(path) > 0 for path in outs))
        for filt, needle in [("$share//a", "the group name is empty"), ("$share/g", "no topic filter after"),
                             ("$share/g+/a", "may not contain '+' or '#'")]:
            with self.subTest(filter=filt):
                self.assert_usage_error(self.run_tool("mqtk-sub", "-t", filt), f"-t: invalid shared subscription '{filt}'",
                                        needle)
        self.assert_usage_error(self.run_tool("mqtk-sub", "-V", "5", "--no-local", "-t", "$share/g/a"),
                                "--no-local cannot be used with the shared subscription")
        for flag in ("--retained-only", "--remove-retained"):
            self.assert_usage_error(self.run_tool("mqtk-sub", "-t", "$share/g/a", flag),
                                    f"{flag}: every -t is a shared subscription")


if __name__ == "__main__":
    unittest.main()
