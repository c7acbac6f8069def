#include "config.h"

#include "tls.h"

#include "net.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tls_conn {
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
};

/* After an SSL call returned r <= 0: 1 try again, 0 deadline passed,
 * 2 the peer closed, -1 failed. */
static int tls_wait(struct tls_conn *t, int r, long long deadline)
{
	int e = SSL_get_error(t->ssl, r);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 2;
	short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
	if (ev == 0)
		return -1;
	int w = net_wait(t->fd, ev, deadline);
	return w > 0 ? 1 : w;
}

static void tls_reason(SSL *ssl, const char *what, char *err, size_t errsize)
{
	char why[160] = "";
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v != X509_V_OK)
		snprintf(why, sizeof why, "%s", X509_verify_cert_error_string(v));
	else if (ERR_peek_last_error() != 0)
		ERR_error_string_n(ERR_peek_last_error(), why, sizeof why);
	snprintf(err, errsize, "%s: %s", what, why[0] ? why : "failed");
}

static int load_cas(SSL_CTX *ctx, const char *cafile, const char *capath)
{
	if (cafile != NULL || capath != NULL)
		return SSL_CTX_load_verify_locations(ctx, cafile, capath);
	/* The paths compiled into OpenSSL: unlike X509_STORE_set_default_paths,
	 * these never come from SSL_CERT_FILE/SSL_CERT_DIR. AT_EACCESS: under su
	 * the real uid is the caller's. */
	const char *file = X509_get_default_cert_file();
	const char *dir = X509_get_default_cert_dir();
	file = faccessat(AT_FDCWD, file, R_OK, AT_EACCESS) == 0 ? file : NULL;
	dir = faccessat(AT_FDCWD, dir, R_OK, AT_EACCESS) == 0 ? dir : NULL;
	return (file != NULL || dir != NULL) ? SSL_CTX_load_verify_locations(ctx, file, dir) : 0;
}

enum http_result tls_open(int fd, const char *host, bool ip, const char *cafile, const char *capath,
			  long long deadline, struct tls_conn **out, char *err, size_t errsize)
{
	*out = NULL;
	struct tls_conn *t = calloc(1, sizeof *t);
	if (t == NULL)
		return HTTP_ERR_INTERNAL;
	t->fd = fd;
	*out = t;
	ERR_clear_error();
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL)
		return HTTP_ERR_INTERNAL;
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
	/* Never below TLS 1.2, but a stricter system policy stays. */
	if (SSL_CTX_get_min_proto_version(t->ctx) < TLS1_2_VERSION)
		SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
	/* One request per connection: no tickets to keep, nothing to renegotiate.
	 * Decrypted records (tokens, JWTs) are wiped from OpenSSL's buffers. An
	 * EOF without close_notify reads as the end: the HTTP framing
	 * (Content-Length, chunked) is what tells a cut-off answer. */
	SSL_CTX_set_options(t->ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					    SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF |
					    SSL_OP_CLEANSE_PLAINTEXT);
	if (load_cas(t->ctx, cafile, capath) != 1) {
		tls_reason(NULL, "CA certificates", err, errsize);
		return HTTP_ERR_TLS;
	}
	t->ssl = SSL_new(t->ctx);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, fd) != 1)
		return HTTP_ERR_INTERNAL;
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS |
						    X509_CHECK_FLAG_NEVER_CHECK_SUBJECT);
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, host) != 1
	       : X509_VERIFY_PARAM_set1_host(vp, host, 0) != 1 ||
			    SSL_set_tlsext_host_name(t->ssl, host) != 1)
		return HTTP_ERR_INTERNAL;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_connect(t->ssl);
		if (r == 1) {
			/* VERIFY_PEER checks a certificate only if one was sent, and
			 * openssl.cnf may allow anonymous or unencrypted suites. */
			const SSL_CIPHER *suite = SSL_get_current_cipher(t->ssl);
			if (SSL_get0_peer_certificate(t->ssl) != NULL &&
			    SSL_get_verify_result(t->ssl) == X509_V_OK && suite != NULL &&
			    SSL_CIPHER_get_cipher_nid(suite) != NID_undef)
				return HTTP_OK;
			snprintf(err, errsize, "TLS handshake: no verified, encrypted connection");
			return HTTP_ERR_TLS;
		}
		int w = tls_wait(t, r, deadline);
		if (w == 0) {
			snprintf(err, errsize, "TLS handshake timed out");
			return HTTP_ERR_TIMEOUT;
		}
		if (w != 1) {
			tls_reason(t->ssl, "TLS handshake", err, errsize);
			return HTTP_ERR_TLS;
		}
	}
}

enum http_result tls_write_all(struct tls_conn *t, const char *p, size_t n, long long deadline)
{
	while (n > 0) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_write(t->ssl, p, n > (1 << 30) ? (1 << 30) : (int)n);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		int w = tls_wait(t, r, deadline);
		if (w == 0)
			return HTTP_ERR_TIMEOUT;
		if (w != 1)
			return HTTP_ERR_CONNECT;
	}
	return HTTP_OK;
}

long tls_read(struct tls_conn *t, char *p, size_t n, long long deadline, enum http_result *res)
{
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_read(t->ssl, p, n > (1 << 30) ? (1 << 30) : (int)n);
		if (r > 0)
			return r;
		int w = tls_wait(t, r, deadline);
		if (w == 2)
			return 0;
		if (w != 1) {
			*res = w == 0 ? HTTP_ERR_TIMEOUT : HTTP_ERR_CONNECT;
			return -1;
		}
	}
}

void tls_close(struct tls_conn *t)
{
	if (t == NULL)
		return;
	SSL_free(t->ssl);
	SSL_CTX_free(t->ctx);
	free(t);
	ERR_clear_error();
}
