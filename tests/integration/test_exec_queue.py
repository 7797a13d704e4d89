"""mqtk-sub --exec off the receiving thread: commands wait in a bounded
queue and start in message order on a thread of their own, so a slow
command never holds up printing; a full queue waits (back-pressure) or drops
and counts (--exec-when-full), --exec-timeout ends a command that runs too
long, and a signal discards what is still queued.

The slow command is held by the test, not by time: it writes started.N
(N its payload), waits until the file `go` exists, then appends N to `done`.
"""

import os
import select
import shutil
import signal
import tempfile
import time
import unittest

from mqtk_testing import TIMEOUT, BrokerTestCase, wait_for

HELD = ('p=$(cat); : > "$D/started.$p"; while [ ! -e "$D/go" ]; do sleep 0.05; done; '
        'echo "$p" >> "$D/done"')


def read_lines(stream, n, timeout=TIMEOUT):
    """Reads exactly n lines from a child's stdout pipe (raw descriptor)."""
    fd = stream.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while buf.count(b"\n") < n:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise AssertionError(f"timed out waiting for {n} lines; got {buf!r}")
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"end of output before {n} lines: {buf!r}")
        buf += chunk
    return buf


def nothing_more(stream, seconds=0.5):
    """True when the pipe has nothing to read for a while (this can only
    miss a wrong line, never fail a right run)."""
    return not select.select([stream.fileno()], [], [], seconds)[0]


class ExecQueueTest(BrokerTestCase):
    def setUp(self):
        super().setUp()
        self.dir = tempfile.mkdtemp(prefix="mqtk-exec-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        # Whatever fails, no held command outlives the test.
        self.addCleanup(self.release)

    def release(self):
        open(os.path.join(self.dir, "go"), "w").close()

    def started(self, n):
        return os.path.exists(os.path.join(self.dir, f"started.{n}"))

    def done(self):
        try:
            with open(os.path.join(self.dir, "done")) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def held_sub(self, *args):
        return self.spawn_sub(*args, "--exec", "sh", "-c", HELD, extra_env={"D": self.dir})

    def publish(self, *payloads):
        r = self.run_tool("mqtk-pub", "-t", "q", "-l", input="".join(f"{p}\n" for p in payloads).encode())
        self.assertEqual(r.returncode, 0, r.stderr)

    def first_one_running(self, sub):
        self.publish(1)
        wait_for(lambda: self.started(1) or sub.poll() is not None, what="the first command to start")
        self.assertIsNone(sub.poll())

    def test_slow_command_does_not_hold_up_printing(self):
        sub = self.held_sub("-t", "q", "-C", "5")
        self.first_one_running(sub)
        self.publish(2, 3, 4, 5)
        # Every message is printed while the first command still runs.
        self.assertEqual(read_lines(sub.stdout, 5, timeout=TIMEOUT / 2), b"1\n2\n3\n4\n5\n")
        self.assertEqual(self.done(), [])
        self.assertFalse(self.started(2), "one job at a time: the second waits for the first")
        self.release()
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"", b""))
        self.assertEqual(self.done(), ["1", "2", "3", "4", "5"], "the commands ran in message order")

    def test_full_queue_waits(self):
        # One running, one queued: the third message is printed, then
        # receiving waits for room (back-pressure), so the fourth is not.
        sub = self.held_sub("-t", "q", "-C", "5", "--exec-queue", "1")
        self.first_one_running(sub)
        self.publish(2, 3, 4, 5)
        self.assertEqual(read_lines(sub.stdout, 3), b"1\n2\n3\n")
        self.assertTrue(nothing_more(sub.stdout), "the fourth message was printed with the queue full")
        self.release()
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out, err), (0, b"4\n5\n", b""))
        self.assertEqual(self.done(), ["1", "2", "3", "4", "5"])

    def test_full_queue_drops_and_counts(self):
        sub = self.held_sub("-t", "q", "-C", "5", "--exec-queue", "1", "--exec-when-full", "drop")
        self.first_one_running(sub)
        self.publish(2, 3, 4, 5)
        self.assertEqual(read_lines(sub.stdout, 5, timeout=TIMEOUT / 2), b"1\n2\n3\n4\n5\n")
        self.release()
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out), (0, b""))
        self.assertEqual(err, b"mqtk-sub: --exec: 3 commands dropped, the queue was full (--exec-queue 1)\n")
        self.assertEqual(self.done(), ["1", "2"])

    def test_quiet_leaves_out_the_drop_count(self):
        sub = self.held_sub("-t", "q", "-C", "3", "--exec-queue", "1", "--exec-when-full", "drop", "--quiet")
        self.first_one_running(sub)
        self.publish(2, 3)
        self.assertEqual(read_lines(sub.stdout, 3), b"1\n2\n3\n")
        self.release()
        self.assertEqual(self.finish(sub), (0, b"", b""))
        self.assertEqual(self.done(), ["1", "2"])

    def test_signal_discards_the_queue_and_waits_for_the_running_command(self):
        sub = self.held_sub("-t", "q")
        self.first_one_running(sub)
        self.publish(2, 3)
        self.assertEqual(read_lines(sub.stdout, 3), b"1\n2\n3\n")
        sub.send_signal(signal.SIGINT)
        # Still waiting for the running command, not for the queued ones.
        self.assertTrue(nothing_more(sub.stderr))
        self.assertIsNone(sub.poll(), "mqtk-sub ended before its running command")
        self.release()
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out), (0, b""))
        self.assertEqual(err, b"mqtk-sub: --exec: 2 queued commands not run (stopped)\n")
        self.assertEqual(self.done(), ["1"])

    def test_exec_timeout_ends_commands_with_sigterm(self):
        started = time.monotonic()
        sub = self.spawn_sub("-t", "q", "-C", "2", "--exec-timeout", "1", "--exec", "sleep", "60")
        self.publish("a", "b")
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out), (0, b"a\nb\n"))
        self.assertEqual(err.decode(),
                         "mqtk-sub: --exec 'sleep' timed out after 1 s for message on topic 'q' (ended with SIGTERM)\n"
                         * 2 + "mqtk-sub: --exec: 2 of 2 commands failed (2 timed out)\n")
        self.assertGreaterEqual(time.monotonic() - started, 2.0, "one after the other, a second each")

    def test_exec_timeout_kills_a_command_deaf_to_sigterm(self):
        sub = self.spawn_sub("-t", "q", "-C", "1", "--exec-timeout", "0.5", "--exec", "sh", "-c",
                             "trap '' TERM; exec sleep 60")
        self.publish("x")
        rc, out, err = self.finish(sub)
        self.assertEqual((rc, out), (0, b"x\n"))
        self.assertEqual(err.decode(),
                         "mqtk-sub: --exec 'sh' timed out after 0.5 s for message on topic 'q' (still running 2 s "
                         "after SIGTERM: killed with SIGKILL)\n"
                         "mqtk-sub: --exec: 1 of 1 commands failed (1 timed out)\n")

    def test_exec_queue_flags_need_exec(self):
        for args, flag in ((["--exec-timeout", "1"], "--exec-timeout"),
                           (["--exec-when-full", "drop"], "--exec-when-full")):
            with self.subTest(flag=flag):
                r = self.run_tool("mqtk-sub", "-t", "q", *args)
                self.assertEqual((r.returncode, r.stdout), (1, b""))
                self.assertEqual(r.stderr.decode(),
                                 f"mqtk-sub: {flag} needs --exec CMD (the command to run for each message)\n"
                                 "Run 'mqtk-sub --help' for usage.\n")
        self.assert_no_connection()


if __name__ == "__main__":
    unittest.main()
