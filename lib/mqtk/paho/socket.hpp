#pragma once

#include <cstddef>
#include <functional>

#include <poll.h>
#include <sys/types.h>

// The libc calls Paho MQTT C makes on its socket, answered by mqtk.
//
// mqtk's executables define poll(), usleep(), recv(), writev(), write() and
// close(): the Paho build linked into them (plain TCP, websockets) calls
// these definitions directly, and the executables also export them
// (lib/CMakeLists.txt, -Wl,--export-dynamic-symbol), so the TLS build's module,
// loaded with dlopen, binds to them too. mqtk's own code gets them too; for
// anything that is not Paho's socket they do what libc does. Each one
// removes a cost measured with strace -f -tt and perf (README "Speed"):
//
//  - Fixed waits (poll, usleep). MQTTAsync_receiveThread starts with a 10 ms
//    read-poll timeout, and Socket_getReadySocket blocks in that poll even
//    when the connecting socket is already writable, so CONNECT leaves 10 ms
//    late; MQTTAsync_cycle sleeps 100 ms whenever no socket exists yet,
//    which is the case when the receive thread wins the race against the
//    send thread's connect(): a 100 ms straggler in a third of one-shot
//    runs. 10 ms is Paho's first-cycle value and nothing else in mqtk polls
//    with it: it becomes 0. Sleeps of 100 ms and more are Paho's idle waits:
//    cut to 100 us so the thread notices the new socket at once.
//  - Three reads per packet (recv, close, poll). Paho reads the fixed-header
//    byte, the remaining length and the body with one recv() each. The
//    first small recv() on a non-blocking stream socket takes everything the
//    kernel has (up to `capacity` bytes) into a buffer kept for that socket;
//    the following ones are served from it, and poll() reports the socket
//    readable while it holds bytes; close() drops them. TLS reads go through
//    OpenSSL's read() and are not buffered here: OpenSSL reads ahead itself
//    (tls_read_ahead.hpp).
//  - A write check per packet (poll). Before each packet it reads, Paho
//    polls for output with a zero timeout (Socket_getReadySocket:
//    poll(fds_write, n, 0); isReady() wants POLLOUT). For a socket it has
//    read from or written to (so connected; a connect in progress still
//    asks the kernel) and no pending write, the answer is yes without a
//    system call. When
//    the socket is in fact full, Paho's next write is partial and Paho
//    queues the rest as a pending write, as when the kernel's yes goes
//    stale a moment later; from then on the kernel answers again, so the
//    pending write is continued only when it can progress (each attempt
//    renews Paho's last-sent time, which its keepalive check relies on).
//  - Pending writes continued once a second (writev, write, poll). A packet
//    larger than the socket buffer is written partly; Paho continues it
//    from its receive thread, whose read poll waits up to 1 s for input
//    only: a 30 MB publish took 5 s (mosquitto_pub: 1 s). writev() (Paho's
//    own writes) and write() (OpenSSL's, for TLS) note a partial write, and
//    the receive thread's read poll then also wakes when the socket can
//    take more (an eventfd wakes a wait that was already under way), so the
//    rest goes out as fast as the broker reads. A socket gets its slot at
//    its first read or write, whichever comes first, so that a TLS socket,
//    which OpenSSL reads with read(), has one too.
//  - One write per message of output (poll). See receive_thread_idle.
//
// What Paho receives and sends is byte for byte what it would otherwise;
// only the split into calls and the moments of waking differ. A fixed Paho
// (buffered reads, a poll that waits for output while a write is pending,
// no fixed sleeps) would make all of this unnecessary.
namespace mqtk::paho_socket {

// False in the stock-Paho build (CMake option MQTK_STOCK_PAHO, for
// measuring what these calls buy): the executables then define none of
// them, Paho calls libc's, and receive_thread_idle is never called.
inline constexpr bool answers_libc_calls = !MQTK_STOCK_PAHO;

// Bytes read ahead per socket; larger reads go straight to the kernel.
inline constexpr std::size_t capacity = 32 * 1024;

// Set on Paho's receive thread (the one that delivers messages) once a
// Connection asked for idle notifications (Connection::on_idle): called
// when that thread's poll would block, after a look without waiting found
// nothing ready. So a tool that buffers output writes once per batch of
// ready messages, and still at once for a lone message.
extern thread_local std::function<void()>* receive_thread_idle;

// Called on the receive thread after each message it delivered. In the
// stock-Paho build, where no poll() of ours sees that thread about to wait,
// calls receive_thread_idle (every message a batch of its own); otherwise
// does nothing.
inline void message_delivered()
{
  if constexpr (!answers_libc_calls) {
    if (receive_thread_idle != nullptr) {
      (*receive_thread_idle)();
    }
  }
}

// recv(fd, buf, len, flags). With flags 0 on a non-blocking stream
// socket, served from the read-ahead buffer; a read that finds the buffer
// empty refills it from the kernel first. While bytes are buffered they
// come first whatever the flags (MSG_PEEK leaves them there; MSG_WAITALL
// and MSG_OOB are not honoured, and Paho uses neither). A read that wants
// more than is buffered also takes what the kernel has at that moment; an
// error it meets then is reported as end of stream by the next call. Sets
// errno as recv() does.
ssize_t receive(int fd, void* buf, std::size_t len, int flags) noexcept;

// For a poll() with this timeout, answers what can be answered without the
// kernel:
//  - Reading: when fds holds only sockets that asked for POLLIN and have
//    buffered bytes (or no events at all), sets their revents to POLLIN and
//    returns their number. When some asked for POLLIN and have bytes but
//    others need the kernel, polls the kernel without waiting, adds POLLIN
//    for the buffered ones and returns the number of entries with events.
//  - Writing: a zero-timeout poll that asks only for POLLOUT, and only
//    about sockets that have been read from and have no pending write,
//    gets POLLOUT for each.
// Returns 0, touching nothing, when it cannot answer (the caller asks the
// kernel); -1 with errno when the kernel's poll failed.
int answer_poll(pollfd* fds, nfds_t nfds, int timeout) noexcept;

// The kernel's poll(fds, nfds, timeout), except that, when fds holds a
// socket that has been read from and asked for POLLIN, the wait also ends
// when that socket has a pending partial write (see note_write) and can
// take more, or when a write on it becomes pending meanwhile. Neither is
// reported (that POLLOUT was not asked for): the poll returns without it,
// so that the caller's next round continues the write.
int poll_kernel(pollfd* fds, nfds_t nfds, int timeout) noexcept;

// Records the outcome of a write of `requested` bytes on fd that returned
// `written` (-1: failed with `error`): a write that did not take
// everything leaves a write pending, one that did clears it. The first
// write on a non-blocking stream socket without a slot claims one.
void note_write(int fd, std::size_t requested, ssize_t written, int error) noexcept;

// Drops fd's buffer (unread bytes included) and write state: call before
// fd is closed, so that a later socket with the same number starts afresh.
void forget(int fd) noexcept;

// For tests: bytes buffered for fd; whether a write is pending on it.
std::size_t buffered(int fd) noexcept;
bool write_pending(int fd) noexcept;

} // namespace mqtk::paho_socket
