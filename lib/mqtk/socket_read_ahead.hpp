#pragma once

#include <cstddef>

#include <poll.h>
#include <sys/types.h>

// Buffered reads for Paho's socket.
//
// Paho MQTT C reads every packet with three recv() calls (fixed-header byte,
// remaining length, body) and polls twice per packet, so a stream of short
// messages costs five system calls per message before anything is done
// with it (perf stat on mqtk-sub at QoS 0: 600 000 recv calls for 200 000
// messages). mosquitto's clients read what is there in one call.
//
// This module reads ahead instead: the first small recv() on a non-blocking
// socket takes everything the kernel has (up to `capacity` bytes) into a
// buffer kept for that socket, and the following recv() calls are served
// from it; poll() reports the socket readable while the buffer holds data.
// It works through the recv(), close() and poll() that mqtk's executables
// export to Paho (see connection.cpp and CMakeLists.txt): Paho calls all
// three through the PLT and uses no other way to read its socket (TLS reads
// through OpenSSL with read(), which is not buffered here). What a caller
// gets is what recv() would have given it, in the same order; only the
// split into calls differs, as it may for any stream socket.
namespace mqtk::read_ahead {

// Bytes read ahead per socket; larger reads go straight to the kernel.
inline constexpr std::size_t capacity = 32 * 1024;

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
//    about sockets that have been read from (so connected: a connect still
//    in progress is never answered here), gets POLLOUT for each. This is
//    the check Paho makes before every packet it reads (Socket.c,
//    Socket_getReadySocket: poll(fds_write, n, 0), then isReady() wants
//    POLLOUT), one system call per packet that almost always says yes.
//    When the socket is in fact full, Paho's next write is partial and Paho
//    queues the rest as a pending write, exactly as when the kernel said
//    yes a moment before it filled up; a pending write keeps the socket
//    "not ready" in isReady() whatever this answer is.
// Returns 0, touching nothing, when it cannot answer (the caller asks the
// kernel); -1 with errno when the kernel's poll failed.
int poll_buffered(pollfd* fds, nfds_t nfds, int timeout) noexcept;

// Drops fd's buffer (unread bytes included): call before fd is closed, so
// that a later socket with the same number starts empty.
void forget(int fd) noexcept;

// Bytes buffered for fd (for tests).
std::size_t buffered(int fd) noexcept;

} // namespace mqtk::read_ahead
