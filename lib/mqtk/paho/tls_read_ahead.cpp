#include "mqtk/paho/tls_read_ahead.hpp"

#include <openssl/ssl.h>

extern "C" {
SSL* __real_SSL_new(SSL_CTX* ctx);
int __real_SSL_pending(const SSL* ssl);
int __real_SSL_read(SSL* ssl, void* buffer, int length);

SSL* __wrap_SSL_new(SSL_CTX* ctx)
{
  SSL* ssl = __real_SSL_new(ctx);
  if (ssl != nullptr) {
    SSL_set_read_ahead(ssl, 1);
  }
  return ssl;
}

int __wrap_SSL_pending(const SSL* ssl)
{
  const int pending = __real_SSL_pending(ssl);
  return pending > 0 ? pending : (SSL_has_pending(ssl) ? 1 : 0);
}
}

int mqtk::tls_read_ahead_fill(SSL* ssl, void* buffer, int got, int length) noexcept
{
  // SSL_read hands over one record at a time; a packet longer than the
  // record (or split across records) goes on from the buffered ones. When
  // only part of a record is buffered, SSL_read reads the socket once
  // (non-blocking) and says it wants more: what it got stays in OpenSSL's
  // buffer, and the rest arrives on the socket, which poll() sees.
  while (got < length && SSL_has_pending(ssl)) {
    const int more = __real_SSL_read(ssl, static_cast<char*>(buffer) + got, length - got);
    if (more <= 0) {
      break;
    }
    got += more;
  }
  return got;
}
