/* TLS client over a connected socket with OpenSSL (libssl): TLS >= 1.2,
 * the peer verified against the configured CAs and the host name (or IP),
 * every step bounded by a deadline. */
#ifndef PAM_CLERK_TLS_H
#define PAM_CLERK_TLS_H

#include "buf.h"
#include "http.h"

#include <stdbool.h>
#include <stddef.h>

struct tls_conn;

/* The handshake on fd for host (ip: an IP literal, checked against the
 * certificate's IP SANs). cafile/capath NULL: the system store compiled
 * into OpenSSL, never SSL_CERT_FILE/SSL_CERT_DIR of the caller's. */
enum http_result tls_open(int fd, const char *host, bool ip, const char *cafile, const char *capath,
			  long long deadline, struct tls_conn **out, char *err, size_t errsize);

enum http_result tls_write_all(struct tls_conn *t, const char *p, size_t n, long long deadline);

/* Read what is there, at most n bytes, into p: the count, 0 when the peer
 * closed, or -1 with *res set. */
long tls_read(struct tls_conn *t, char *p, size_t n, long long deadline, enum http_result *res);

/* No close_notify: the server closes (Connection: close). */
void tls_close(struct tls_conn *t);

#endif
