#pragma once

// OpenSSL's read-ahead for Paho's TLS connections, built into
// mqtk-paho-tls.so only, and not into the stock-Paho build (a speed change:
// ARCHITECTURE.md, "The Paho layer").
//
// Paho's SSLSocket reads a packet in small pieces (the fixed-header byte,
// each remaining-length byte, the body), and OpenSSL without read-ahead
// reads each TLS record with two read() calls (its 5-byte header, then the
// rest): a message a record, so two system calls a message. With
// read-ahead OpenSSL reads whatever the kernel has into its buffer, many
// records a call. But Paho asks SSL_pending() whether more is there after a
// packet, which counts only the record being read, not the records waiting
// in that buffer; it would then poll the socket while the next messages sit
// in OpenSSL's buffer. So SSL_pending also counts those (SSL_has_pending),
// and a read that got less than it asked for goes on while complete
// records are buffered (tls_read_ahead_fill), so that what poll() cannot
// see is always read before Paho waits.

struct ssl_st;
struct ssl_ctx_st;

extern "C" {
// OpenSSL's SSL_new, with read-ahead on.
ssl_st* __wrap_SSL_new(ssl_ctx_st* ctx);

// OpenSSL's SSL_pending, at least 1 while unread records wait in the
// read-ahead buffer.
int __wrap_SSL_pending(const ssl_st* ssl);
}

namespace mqtk {

// After an SSL_read into `buffer` of `length` bytes returned `got` (> 0,
// less than asked): reads on while OpenSSL has buffered records, without
// touching the socket when it has none. Returns the bytes now in buffer.
int tls_read_ahead_fill(ssl_st* ssl, void* buffer, int got, int length) noexcept;

} // namespace mqtk
