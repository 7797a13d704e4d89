"""MQTT over websockets (ws://) against mosquitto's websockets listener."""

import socket
import unittest

from mqtk_testing import BrokerTestCase, free_port, wait_for


def accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class WebsocketsTest(BrokerTestCase):
    def setUp(self):
        self.ws_port = free_port()
        self.broker_options = {"extra_config": f"listener {self.ws_port} 127.0.0.1\nprotocol websockets\n"}
        super().setUp()
        # The fixture waits for the MQTT listener; the websockets one opens after it.
        wait_for(lambda: accepts(self.ws_port), what="the websockets listener")

    def test_pub_and_sub_over_websockets(self):
        url = f"ws://localhost:{self.ws_port}/mqtt"
        sub = self.spawn_sub("-L", url, "-t", "ws/t", "-C", "1", "-v")
        r = self.run_tool("mqtk-pub", "-L", url, "-t", "ws/t", "-m", "over websockets", "-q", "1", port=False)
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"ws/t over websockets\n", b""))


if __name__ == "__main__":
    unittest.main()
