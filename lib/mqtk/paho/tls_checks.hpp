#pragma once

#include <cstddef>

extern "C" {
#include <MQTTAsync.h>
}

// The TLS module's handshake checks: what names the check a failed TLS
// connection failed (paho/tls_failure.hpp), built into mqtk-paho-tls.so only
// (it links OpenSSL), in the stock-Paho build too (a feature, not a speed
// change).
//
// Paho MQTT C 1.3.12 tells its caller no more than "TCP/TLS connect
// failure": OpenSSL's errors reach only the ssl_error_cb, and then only
// those of the handshake's setup and of SSL_connect; the verification
// result (which certificate, expired when), its own host name check (made
// after SSL_connect succeeded) and an alert the broker sends after the
// client's side of the handshake is done (TLS 1.3's "certificate required",
// read by SSL_read, whose errors Paho reports to no callback) are lost. So
// the module passes the linker --wrap for each function below
// (lib/CMakeLists.txt): the calls from Paho's objects reach the functions
// below, which call Paho's and OpenSSL's and, when they fail, record the
// failed check in the TlsFailure the connection gave Paho as
// ssl_error_context. What Paho does is unchanged.

struct ssl_st;
struct ssl_ctx_st;
struct ssl_method_st;

extern "C" {

// Paho's ssl_error_cb (MQTTAsync_SSLOptions), `context` a mqtk::TlsFailure:
// takes OpenSSL's error code from each line ERR_print_errors_cb hands it.
// Errors while Paho sets the context up (a key that does not match the
// certificate, a cipher list OpenSSL does not know) are recorded as
// TlsCheck::setup; those of SSL_connect go to the check below. Returns 1.
int mqtk_tls_error_callback(const char* text, std::size_t length, void* context);

// Paho's SSLSocket_connect (a step of the handshake, and Paho's host name
// check once it is done), then, when it failed and Paho was given
// mqtk_tls_error_callback, the failed check recorded in `context`: the
// verification result with the certificate it concerns, the host name
// against the names in the certificate, or OpenSSL's error (an alert from
// the broker, a protocol version, a peer that does not speak TLS).
int __wrap_SSLSocket_connect(ssl_st* ssl, int socket, const char* hostname, int verify,
                             int (*error_callback)(const char*, std::size_t, void*), void* context);

// Paho's SSLSocket_setSocketForSSL (sets the SSL context up from
// `options`, an MQTTClient_SSLOptions, laid out as MQTTAsync_SSLOptions);
// while it runs, the four SSL_CTX functions below record a step that fails
// with the flag it comes from (Paho takes the first error off OpenSSL's
// queue before it calls the error callback, which so may see none).
int __wrap_SSLSocket_setSocketForSSL(void* net, MQTTAsync_SSLOptions* options, const char* hostname,
                                      std::size_t hostname_length);
int __wrap_SSL_CTX_use_certificate_chain_file(ssl_ctx_st* ctx, const char* file);
int __wrap_SSL_CTX_use_PrivateKey_file(ssl_ctx_st* ctx, const char* file, int type);
int __wrap_SSL_CTX_load_verify_locations(ssl_ctx_st* ctx, const char* file, const char* path);
int __wrap_SSL_CTX_set_cipher_list(ssl_ctx_st* ctx, const char* list);

// OpenSSL's SSL_CTX_new, which Paho calls while SSLSocket_setSocketForSSL
// sets a connection's context up; Paho 1.3.12 built against OpenSSL 1.1 or
// later always passes TLS_client_method() and ignores sslVersion, so the
// version the connection's TlsFailure names (--tls-version) is pinned here
// as both the lowest and the highest the context accepts.
ssl_ctx_st* __wrap_SSL_CTX_new(const struct ssl_method_st* method);

// OpenSSL's SSL_read; a fatal TLS error on a connection whose handshake the
// function above saw (an alert from the broker: TLS 1.3 client certificate
// required or refused, a wrong pre-shared key) is recorded as well.
int __wrap_SSL_read(ssl_st* ssl, void* buffer, int length);

// OpenSSL's SSL_write; when it fails on such a connection, the broker's
// alert that may wait to be read is read and recorded (a broker refusing a
// TLS 1.3 client certificate closes right after the handshake, and the
// client's first write meets the reset).
int __wrap_SSL_write(ssl_st* ssl, const void* buffer, int length);
}
