"""Will messages: the broker publishes them when a client dies without
DISCONNECT, and not after a clean exit."""

import signal
import unittest

from mqtk_testing import BrokerTestCase, tool, wait_for


class WillTest(BrokerTestCase):
    def test_will_published_when_client_dies(self):
        watcher = self.spawn_sub("-t", "will/#", "-C", "1", "-v")
        client = self.spawn([tool("mqtk-sub"), "-p", self.port, "-i", "dying", "-t", "other", "-q", "1",
                             "--will-topic", "will/dying", "--will-payload", "gone", "--will-qos", "1"])
        wait_for(lambda: "Sending SUBACK to dying" in self.broker.log(), what="the client to subscribe")
        client.send_signal(signal.SIGKILL)
        client.wait(timeout=30)
        rc, out, err = self.finish(watcher)
        self.assertEqual((rc, out, err), (0, b"will/dying gone\n", b""))

    def test_no_will_after_clean_exit(self):
        watcher = self.spawn_sub("-t", "will/#", "-C", "1", "-v")
        client = self.spawn([tool("mqtk-sub"), "-p", self.port, "-i", "clean", "-t", "other",
                             "--will-topic", "will/clean", "--will-payload", "gone"])
        wait_for(lambda: "Sending SUBACK to clean" in self.broker.log(), what="the client to subscribe")
        client.send_signal(signal.SIGINT)
        self.assertEqual(client.wait(timeout=30), 0)
        wait_for(lambda: "Client clean disconnected" in self.broker.log(), what="a clean DISCONNECT")
        # A will would have been sent at the disconnect, before this marker.
        self.run_tool("mqtk-pub", "-t", "will/marker", "-m", "after")
        rc, out, err = self.finish(watcher)
        self.assertEqual((rc, out, err), (0, b"will/marker after\n", b""))

if __name__ == "__main__":
    unittest.main()
