"""Reconnecting: mqtk-sub and mqtk-pub -l after a broker restart or a cut
connection (a TCP relay of the test's own between the tool and a real
mosquitto), with nothing lost at QoS >= 1, the outage and recovery lines on
stderr, --no-reconnect, --reconnect-timeout (exit 7), a refusal that would
repeat (its CONNACK code), --max-buffer back-pressure and QoS 0 dropped and
counted."""

import errno
import fcntl
import os
import socket
import subprocess
import threading
import unittest

from mqtk_testing import (BrokerTestCase, MOSQUITTO_PUB, MOSQUITTO_SUB, TIMEOUT, free_port, tool,
                          wait_for)

def persistent(broker):
    """Extra config that keeps sessions and queued messages across a
    restart, in the broker's own directory."""
    return f"persistence true\npersistence_location {broker.dir}/\nautosave_interval 0\n"


class StreamReader:
    """Collects a pipe's lines on a thread, so a test can wait for one."""

    def __init__(self, stream):
        self.lines = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream):
        for raw in iter(stream.readline, b""):
            with self._lock:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))

    def text(self):
        with self._lock:
            return "\n".join(self.lines)

    def snapshot(self):
        with self._lock:
            return list(self.lines)

    def wait_for(self, needle, count=1, timeout=TIMEOUT):
        wait_for(lambda: self.text().count(needle) >= count, timeout=timeout,
                 what=f"{needle!r} x{count} in:\n{self.text()}")

    def join(self):
        self._thread.join(TIMEOUT)


class Relay:
    """A TCP relay on a free loopback port to the broker: cut() closes every
    relayed connection and stops accepting (as a dropped network would, the
    broker staying up); resume() accepts again on the same port."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = free_port()
        self._lock = threading.Lock()
        self._sockets = []
        self._server = None
        self.resume()

    def resume(self):
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src, dst):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        # shutdown() wakes the thread blocked in accept(); close() alone
        # would leave the socket listening until accept() returns.
        try:
            self._server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._server.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def close(self):
        self.cut()


def numbers(text):
    return [int(line) for line in text.split() if line.strip()]


class ReconnectTest(BrokerTestCase):

    def start_relay(self):
        relay = Relay(self.broker.port)
        self.addCleanup(relay.close)
        return relay

    def spawn_tool(self, name, *args, stdin=None):
        p = self.spawn([tool(name)] + list(args), stdin=stdin)
        return p, StreamReader(p.stderr)

    # mqtk-sub -----------------------------------------------------------
    def test_sub_reconnects_and_subscribes_again_after_a_broker_restart(self):
        p, err = self.spawn_tool("mqtk-sub", "-p", self.port, "-i", "rsub", "-t", "r/#", "-v")
        out = StreamReader(p.stdout)
        self.wait_subscribed(self.broker, "rsub", p)
        self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-t", "r/a", "-m", "before"])
        out.wait_for("r/a before")
        self.broker.restart()
        err.wait_for(f"mqtk-sub: lost the connection to localhost:{self.port}")
        err.wait_for("reconnecting")
        err.wait_for(f"mqtk-sub: connected to localhost:{self.port} again after")
        self.assertIn("subscribed again", err.text())
        self.wait_subscribed(self.broker, "rsub", p)
        self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-t", "r/a", "-m", "after"])
        out.wait_for("r/a after")
        p.send_signal(2)
        self.assertEqual(p.wait(TIMEOUT), 0, err.text())
        self.assertEqual(out.snapshot(), ["r/a before", "r/a after"])
        self.assertEqual(err.text().count("lost the connection"), 1, err.text())

    def test_sub_quiet_prints_no_outage_lines(self):
        p, err = self.spawn_tool("mqtk-sub", "-p", self.port, "-i", "qsub", "-t", "q", "--quiet")
        out = StreamReader(p.stdout)
        self.wait_subscribed(self.broker, "qsub", p)
        self.broker.restart()
        # Subscribed again: the broker's log (kept across the restart) shows
        # a second SUBACK.
        wait_for(lambda: self.broker.log().count("Sending SUBACK to qsub") >= 2 or p.poll() is not None,
                 what="qsub to subscribe again")
        self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-t", "q", "-m", "still here"])
        out.wait_for("still here")
        p.send_signal(2)
        self.assertEqual(p.wait(TIMEOUT), 0)
        err.join()
        self.assertEqual(err.text(), "")

    def test_sub_with_a_kept_session_receives_what_was_published_while_away(self):
        relay = self.start_relay()
        p, err = self.spawn_tool("mqtk-sub", "-p", str(relay.port), "-i", "away", "-c", "-q", "1", "-t", "away")
        out = StreamReader(p.stdout)
        self.wait_subscribed(self.broker, "away", p)
        relay.cut()
        err.wait_for("lost the connection")
        wait_for(lambda: "Client away closed its connection" in self.broker.log()
                 or "Client away disconnected" in self.broker.log(), what="the broker to see away go")
        for i in range(1, 51):
            self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-q", "1", "-t", "away", "-m", str(i)])
        relay.resume()
        err.wait_for("connected to")
        # The broker kept the session: no second SUBSCRIBE.
        self.assertNotIn("subscribed again", err.text())
        wait_for(lambda: len(out.snapshot()) >= 50, what=f"50 messages, got {out.snapshot()}")
        p.send_signal(2)
        self.assertEqual(p.wait(TIMEOUT), 0, err.text())
        self.assertEqual(numbers(out.text()), list(range(1, 51)))

    def test_sub_notices_a_frozen_broker_by_its_keepalive_and_comes_back(self):
        # SIGSTOP: the broker's sockets stay open and the kernel still
        # accepts new connections, but nothing answers. Paho pings after -k
        # seconds without traffic and gives up 1.5 x -k later; a reconnect
        # attempt then waits --connect-timeout for the CONNACK.
        p, err = self.spawn_tool("mqtk-sub", "-p", self.port, "-i", "frozen", "-t", "f", "-k", "5",
                                 "--connect-timeout", "2")
        out = StreamReader(p.stdout)
        self.wait_subscribed(self.broker, "frozen", p)
        self.broker.proc.send_signal(19)  # SIGSTOP
        try:
            err.wait_for("lost the connection", timeout=5 * 2.5 + 10)
        finally:
            self.broker.proc.send_signal(18)  # SIGCONT
        err.wait_for("connected to", timeout=TIMEOUT)
        wait_for(lambda: self.broker.log().count("Sending SUBACK to frozen") >= 2, what="frozen to subscribe again")
        self.run_cmd([MOSQUITTO_PUB, "-p", self.port, "-t", "f", "-m", "thawed"])
        out.wait_for("thawed")
        p.send_signal(2)
        self.assertEqual(p.wait(TIMEOUT), 0, err.text())

    def test_sub_no_reconnect_exits_1_at_once(self):
        p, err = self.spawn_tool("mqtk-sub", "-p", self.port, "-i", "nore", "-t", "x", "--no-reconnect")
        self.wait_subscribed(self.broker, "nore", p)
        self.broker.stop()
        self.assertEqual(p.wait(TIMEOUT), 1)
        err.join()
        self.assertIn(f"mqtk-sub: lost the connection to localhost:{self.port}", err.text())
        self.assertNotIn("reconnecting", err.text())

    def test_sub_gives_up_after_reconnect_timeout_with_exit_7(self):
        p, err = self.spawn_tool("mqtk-sub", "-p", self.port, "-i", "giveup", "-t", "x",
                                 "--reconnect-timeout", "1.5")
        self.wait_subscribed(self.broker, "giveup", p)
        self.broker.stop()
        self.assertEqual(p.wait(TIMEOUT), 7, err.text())
        err.join()
        text = err.text()
        self.assertIn("reconnecting", text)
        self.assertIn(f"could not reconnect within 1.5 s (--reconnect-timeout): cannot connect to localhost:{self.port}",
                      text)
        self.assertNotIn("terminate called", text)

    def test_sub_stops_reconnecting_when_the_broker_refuses_the_credentials(self):
        p, err = self.spawn_tool("mqtk-sub", "-p", self.port, "-i", "refused", "-t", "x")
        self.wait_subscribed(self.broker, "refused", p)
        self.broker.base_lines = [line.replace("allow_anonymous true", "allow_anonymous false")
                                  for line in self.broker.base_lines]
        self.broker.restart()
        self.assertEqual(p.wait(TIMEOUT), 5, err.text())
        err.join()
        self.assertIn("reconnecting: broker at localhost:", err.text())
        self.assertIn("not authorised (CONNACK 5)", err.text())

    # mqtk-pub -l ----------------------------------------------------------
    def stream_across_restart(self, qos, count=2000, extra=()):
        """Numbered lines at `qos` from mqtk-pub -l into a subscriber with a
        kept session, the broker (persistence on) restarted twice in the
        middle; returns the numbers received and the publisher's stderr."""
        self.broker.restart(persistent(self.broker))
        observer = self.spawn([MOSQUITTO_SUB, "-p", self.port, "-i", "observer", "-c", "-q", str(qos),
                               "-t", "n"])
        seen = StreamReader(observer.stdout)
        self.wait_subscribed(self.broker, "observer", observer)
        pub = self.spawn([tool("mqtk-pub"), "-p", self.port, "-i", "streamer", "-q", str(qos), "-t", "n", "-l"]
                         + list(extra), stdin=subprocess.PIPE)
        err = StreamReader(pub.stderr)
        third = count // 3
        lines = iter(range(1, count + 1))

        def feed(n):
            pub.stdin.write("".join(f"{next(lines)}\n" for _ in range(n)).encode())
            pub.stdin.flush()

        feed(third)
        wait_for(lambda: "Received PUBLISH from streamer" in self.broker.log(), what="the stream to start")
        for round_ in (1, 2):
            self.broker.restart()
            # mosquitto_sub -c reconnects by itself (every second).
            err.wait_for("connected to", count=round_)
            feed(third if round_ == 1 else count - 2 * third)
        pub.stdin.close()
        self.assertEqual(pub.wait(TIMEOUT * 2), 0, err.text())
        err.join()
        # Everything was acknowledged: the broker delivers the rest (a QoS 1
        # duplicate may come too; the last line seen twice tells nothing).
        wait_for(lambda: len(set(seen.snapshot())) >= count, what=f"{count} distinct numbers at the observer")
        observer.terminate()
        observer.wait(TIMEOUT)
        seen.join()
        return numbers(seen.text()), err.text()

    def assert_all_in_order(self, got, count):
        self.assertEqual(sorted(set(got)), list(range(1, count + 1)),
                         f"missing: {sorted(set(range(1, count + 1)) - set(got))[:20]}")
        first_seen = []
        seen = set()
        for n in got:
            if n not in seen:
                seen.add(n)
                first_seen.append(n)
        self.assertEqual(first_seen, sorted(first_seen), "out of order")

    def test_pub_lines_qos1_loses_nothing_across_two_broker_restarts(self):
        # The observer's -C counts deliveries, duplicates included: ask for
        # what QoS 1 may add and check the numbers, not the count.
        got, err = self.stream_across_restart(1)
        self.assert_all_in_order(got, 2000)
        self.assertEqual(err.count("lost the connection"), 2, err)

    def test_pub_lines_qos2_loses_nothing_across_two_broker_restarts(self):
        got, err = self.stream_across_restart(2)
        self.assert_all_in_order(got, 2000)
        self.assertEqual(err.count("connected to"), 2, err)

    def test_pub_lines_max_buffer_stops_reading_stdin_while_down(self):
        relay = self.start_relay()
        pub = self.spawn([tool("mqtk-pub"), "-p", str(relay.port), "-i", "bp", "-q", "1", "-t", "bp", "-l",
                          "--max-buffer", "10"], stdin=subprocess.PIPE)
        err = StreamReader(pub.stderr)
        wait_for(lambda: "Sending CONNACK to bp" in self.broker.log(), what="bp to connect")
        observer = self.spawn([MOSQUITTO_SUB, "-p", self.port, "-i", "bpobs", "-q", "1", "-t", "bp"])
        seen = StreamReader(observer.stdout)
        self.wait_subscribed(self.broker, "bpobs", observer)
        relay.cut()
        err.wait_for("lost the connection")
        # While down at most 10 messages are held: the publisher stops
        # reading, so a writer soon finds stdin's pipe full.
        fd = pub.stdin.fileno()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        total = 100000
        data = "".join(f"{i}\n" for i in range(1, total + 1)).encode()
        written = 0
        blocked = False

        def try_write():
            nonlocal written, blocked
            try:
                written += os.write(fd, data[written:written + 65536])
            except BlockingIOError:
                blocked = True
            return blocked or written >= len(data)

        wait_for(try_write, what="stdin to fill")
        self.assertTrue(blocked, "the publisher kept reading stdin while it could not send")
        self.assertLess(written, len(data) // 2)
        relay.resume()
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        pub.stdin.write(data[written:])
        pub.stdin.close()
        self.assertEqual(pub.wait(TIMEOUT * 2), 0, err.text())
        wait_for(lambda: len(set(seen.snapshot())) >= total, what=f"{total} distinct numbers at the observer")
        observer.terminate()
        observer.wait(TIMEOUT)
        seen.join()
        self.assert_all_in_order(numbers(seen.text()), total)

    def test_pub_lines_qos0_read_while_down_is_dropped_and_counted(self):
        relay = self.start_relay()
        pub = self.spawn([tool("mqtk-pub"), "-p", str(relay.port), "-i", "q0", "-t", "q0", "-l", "-d"],
                         stdin=subprocess.PIPE)
        err = StreamReader(pub.stderr)
        err.wait_for("received CONNACK")
        relay.cut()
        err.wait_for("lost the connection")
        pub.stdin.write(b"one\ntwo\nthree\n")
        pub.stdin.flush()
        pub.stdin.close()
        # stdin ended while down: nothing is held, so it exits without waiting
        # for the reconnect.
        self.assertEqual(pub.wait(TIMEOUT), 0, err.text())
        err.join()
        self.assertIn("mqtk-pub: 3 QoS 0 messages dropped while disconnected", err.text())

    def test_pub_lines_gives_up_with_exit_7_while_messages_are_held(self):
        pub = self.spawn([tool("mqtk-pub"), "-p", self.port, "-i", "gone", "-q", "1", "-t", "g", "-l",
                          "--reconnect-timeout", "1"], stdin=subprocess.PIPE)
        err = StreamReader(pub.stderr)
        wait_for(lambda: "New client connected" in self.broker.log(), what="gone to connect")
        self.broker.stop()
        err.wait_for("lost the connection")
        pub.stdin.write(b"a\nb\n")
        pub.stdin.close()
        self.assertEqual(pub.wait(TIMEOUT), 7, err.text())
        err.join()
        self.assertIn("could not reconnect within 1 s (--reconnect-timeout)", err.text())

    def test_pub_lines_gives_up_when_the_broker_says_the_same_would_happen_again(self):
        # mosquitto (max_topic_alias 10) disconnects a client that sends
        # topic alias 50, with reason 148: reconnecting would only repeat it.
        pub = self.spawn([tool("mqtk-pub"), "-p", self.port, "-i", "alias", "-q", "1", "-t", "bad", "-l",
                          "-D", "publish", "topic-alias", "50"], stdin=subprocess.PIPE)
        err = StreamReader(pub.stderr)
        pub.stdin.write(b"a\n")
        pub.stdin.close()
        self.assertEqual(pub.wait(TIMEOUT), 1, err.text())
        err.join()
        self.assertIn(f"mqtk-pub: lost the connection to localhost:{self.port}: the broker disconnected: "
                      "topic Alias invalid (reason 148)", err.text())
        self.assertNotIn("reconnecting", err.text())

    def test_pub_lines_gives_up_on_a_message_that_makes_the_broker_close_each_time(self):
        # At MQTT 3.1.1 a broker closes without saying why: mosquitto's
        # max_packet_size closes the connection of a client whose packet is
        # larger. Sent again after each reconnect, it would go on for ever.
        small = self.extra_broker(extra_config="max_packet_size 100")
        pub = self.spawn([tool("mqtk-pub"), "-p", str(small.port), "-i", "poison", "-q", "1", "-t", "big", "-l"],
                         stdin=subprocess.PIPE)
        err = StreamReader(pub.stderr)
        pub.stdin.write(b"x" * 200 + b"\n")
        pub.stdin.close()
        self.assertEqual(pub.wait(TIMEOUT), 1, err.text())
        err.join()
        self.assertIn("3 times in a row right after sending held messages again, none of them acknowledged: "
                      "giving up (the oldest is to 'big')", err.text())

    def test_pub_lines_reconnect_timeout_ends_the_wait_for_stdin(self):
        # stdin stays open and silent (tail -f | mqtk-pub -l): giving up must
        # not wait for the next line.
        pub = self.spawn([tool("mqtk-pub"), "-p", self.port, "-i", "idle", "-t", "i", "-l",
                          "--reconnect-timeout", "1"], stdin=subprocess.PIPE)
        err = StreamReader(pub.stderr)
        wait_for(lambda: "Sending CONNACK to idle" in self.broker.log(), what="idle to connect")
        self.broker.stop()
        self.assertEqual(pub.wait(TIMEOUT), 7, err.text())
        err.join()
        self.assertIn("could not reconnect within 1 s (--reconnect-timeout)", err.text())

    def test_one_shot_publish_does_not_reconnect(self):
        # A repeated one-shot publish whose connection is cut half-way.
        relay = self.start_relay()
        pub = self.spawn([tool("mqtk-pub"), "-p", str(relay.port), "-i", "once", "-t", "o", "-m", "m",
                          "--repeat", "100000", "--repeat-delay", "0.01", "--reconnect-timeout", "30"])
        err = StreamReader(pub.stderr)
        wait_for(lambda: "Received PUBLISH from once" in self.broker.log(), what="once to publish")
        relay.cut()
        self.assertEqual(pub.wait(TIMEOUT), 1, err.text())
        err.join()
        self.assertIn("connection lost", err.text())
        self.assertNotIn("reconnecting", err.text())


if __name__ == "__main__":
    unittest.main()
