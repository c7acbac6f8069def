/* PROPOSED drop-in for src/http.c (same src/http.h), from bench/ (issue 7):
 * the HTTPS transport over libssl directly instead of libcurl.
 *
 * Why: libcurl as Debian builds it drags ~35 shared libraries (krb5, ldap,
 * gnutls, ssh2, rtmp, idn2, psl, brotli, zstd, nghttp2, ...) into every
 * process that loads pam_clerk.so, and libpam dlopens modules with RTLD_NOW
 * at pam_start. bench/RESULTS.md measures that load at ~5.5 ms of a ~13 ms
 * login, and this transport at the same sign-in cost with ~1.2 ms of load.
 *
 * What it keeps from src/http.c: TLS >= 1.2 with peer and host-name (or IP)
 * verification, cafile/capath or the compiled-in system store (never the
 * SSL_CERT_FILE/SSL_CERT_DIR environment), one deadline for the whole request
 * plus a connect deadline (DNS included: names resolve on a helper thread the
 * caller stops waiting for), no redirects, no environment proxies, a
 * configured http:// proxy through CONNECT, size caps on headers and body,
 * header values wiped, SIGPIPE blocked and restored, and the same
 * http_result classes for each failure. It speaks HTTP/1.1 with
 * "Connection: close" and reads Content-Length, chunked or close-delimited
 * bodies.
 *
 * Not here: socks4/socks5/https:// proxies and proxy credentials. The
 * proposal keeps src/http.c as the transport for those, loaded on demand
 * (dlopen("libcurl.so.4")) only when such a proxy= is configured.
 * Prototype status: passes tests/pam with PAM_CLERK_MODULE pointing at a
 * build that uses it (see bench/RESULTS.md); it needs review before it
 * replaces anything.
 */
#include "config.h"

#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HEADERS_MAX	 (64 * 1024)
#define HEADER_VALUE_MAX 8192
#define HOST_MAX	 256

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;

static void global_init(void)
{
	init_result = OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, NULL) == 1 ? 0 : -1;
}

int http_global_init(void)
{
	pthread_once(&init_once, global_init);
	return init_result;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct ctx {
	long long deadline, connect_deadline;
	char *err;
	size_t errsize;
	struct http_response *resp;
};

__attribute__((format(printf, 3, 4))) static enum http_result
fail(struct ctx *c, enum http_result r, const char *fmt, ...)
{
	if (c->err != NULL && c->errsize > 0 && c->err[0] == '\0') {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, c->errsize, fmt, ap);
		va_end(ap);
	}
	return r;
}

/* ---- URLs ----------------------------------------------------------------- */

struct target {
	char host[HOST_MAX]; /* without brackets */
	char port[8];
	const char *path; /* into the URL: "/..." or "?..." */
	bool ip;
};

static int parse_url(const char *url, const char *scheme, const char *default_port,
		     struct target *t)
{
	size_t sl = strlen(scheme);
	if (strncasecmp(url, scheme, sl) != 0)
		return -1;
	const char *p = url + sl, *end;
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL || (size_t)(end - p - 1) >= sizeof t->host)
			return -1;
		memcpy(t->host, p + 1, (size_t)(end - p - 1));
		t->host[end - p - 1] = '\0';
		p = end + 1;
	} else {
		size_t n = strcspn(p, ":/?#@");
		if (n == 0 || n >= sizeof t->host || p[n] == '@')
			return -1;
		memcpy(t->host, p, n);
		t->host[n] = '\0';
		p += n;
	}
	snprintf(t->port, sizeof t->port, "%s", default_port);
	if (*p == ':') {
		size_t n = strspn(p + 1, "0123456789");
		if (n == 0 || n >= sizeof t->port)
			return -1;
		memcpy(t->port, p + 1, n);
		t->port[n] = '\0';
		p += 1 + n;
	}
	if (*p != '\0' && *p != '/' && *p != '?')
		return -1;
	t->path = p;
	unsigned char a[sizeof(struct in6_addr)];
	t->ip = inet_pton(AF_INET, t->host, a) == 1 || inet_pton(AF_INET6, t->host, a) == 1;
	return 0;
}

/* ---- DNS with a deadline -------------------------------------------------- */

struct resolve_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	bool done;
	int rc;
	struct addrinfo *ai;
	char host[HOST_MAX], port[8];
};

static void job_release(struct resolve_job *j)
{
	pthread_mutex_lock(&j->mu);
	int left = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (left == 0) {
		if (j->ai != NULL)
			freeaddrinfo(j->ai);
		pthread_cond_destroy(&j->cv);
		pthread_mutex_destroy(&j->mu);
		free(j);
	}
}

static void *resolve_thread(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(j->host, j->port, &hints, &ai);
	pthread_mutex_lock(&j->mu);
	j->rc = rc;
	j->ai = ai;
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_release(j);
	return NULL;
}

static enum http_result resolve(struct ctx *c, const struct target *t, struct addrinfo **out)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	if (t->ip) /* a literal: no resolver, no thread */
		return getaddrinfo(t->host, t->port, &hints, out) == 0
			       ? HTTP_OK
			       : fail(c, HTTP_ERR_CONNECT, "bad address %s", t->host);

	struct resolve_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return HTTP_ERR_INTERNAL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&j->mu, NULL);
	j->refs = 2;
	snprintf(j->host, sizeof j->host, "%s", t->host);
	snprintf(j->port, sizeof j->port, "%s", t->port);

	/* The helper takes no signals of the host's. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	int prc = pthread_create(&th, &attr, resolve_thread, j);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (prc != 0) {
		j->refs = 1;
		job_release(j);
		return fail(c, HTTP_ERR_INTERNAL, "cannot start the resolver");
	}

	long long until = c->connect_deadline < c->deadline ? c->connect_deadline : c->deadline;
	struct timespec ts = { (time_t)(until / 1000), (long)(until % 1000) * 1000000 };
	enum http_result r = HTTP_OK;
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT)
			break;
	if (!j->done) {
		r = fail(c, HTTP_ERR_TIMEOUT, "resolving %s timed out", t->host);
	} else if (j->rc != 0) {
		r = fail(c, HTTP_ERR_CONNECT, "could not resolve %s", t->host);
	} else {
		*out = j->ai;
		j->ai = NULL;
	}
	pthread_mutex_unlock(&j->mu);
	job_release(j);
	return r;
}

/* ---- sockets ----------------------------------------------------------------- */

/* 1 ready, 0 deadline passed, -1 error */
static int wait_fd(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { fd, events, 0 };
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

static enum http_result connect_to(struct ctx *c, const struct target *t, int *fdp)
{
	struct addrinfo *ai = NULL;
	enum http_result r = resolve(c, t, &ai);
	if (r != HTTP_OK)
		return r;
	long long until = c->connect_deadline < c->deadline ? c->connect_deadline : c->deadline;
	int last_errno = ECONNREFUSED;
	r = HTTP_ERR_CONNECT;
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
			*fdp = fd;
			r = HTTP_OK;
			break;
		}
		if (errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, until);
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (w == 0) {
				close(fd);
				r = fail(c, HTTP_ERR_TIMEOUT, "connect to %s timed out", t->host);
				break;
			}
			if (w > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
			    soerr == 0) {
				*fdp = fd;
				r = HTTP_OK;
				break;
			}
			last_errno = soerr != 0 ? soerr : errno;
		} else {
			last_errno = errno;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	if (r == HTTP_ERR_CONNECT)
		fail(c, r, "connect failed: %s", strerror(last_errno));
	return r;
}

/* ---- an http:// proxy: CONNECT ------------------------------------------------ */

static enum http_result proxy_connect(struct ctx *c, const char *proxy, const struct target *dst,
				      int *fdp)
{
	struct target pt;
	if (parse_url(proxy, "http://", "1080", &pt) != 0 ||
	    (*pt.path != '\0' && strcmp(pt.path, "/")))
		return fail(c, HTTP_ERR_INTERNAL,
			    "proxy %s needs the libcurl transport (only http://host[:port] here)",
			    proxy);
	enum http_result r = connect_to(c, &pt, fdp);
	if (r != HTTP_OK)
		return r;
	char req[2 * HOST_MAX + 64];
	const char *lb = strchr(dst->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	int n = snprintf(req, sizeof req, "CONNECT %s%s%s:%s HTTP/1.1\r\nHost: %s%s%s:%s\r\n\r\n",
			 lb, dst->host, rb, dst->port, lb, dst->host, rb, dst->port);
	for (int off = 0; off < n;) {
		ssize_t w = send(*fdp, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w > 0) {
			off += (int)w;
		} else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(*fdp, POLLOUT, c->deadline) == 0)
				return fail(c, HTTP_ERR_TIMEOUT, "proxy timed out");
		} else {
			return fail(c, HTTP_ERR_CONNECT, "proxy: %s", strerror(errno));
		}
	}
	/* Read the proxy's answer byte by byte: nothing of the tunnel may be eaten. */
	char head[HEADERS_MAX];
	size_t len = 0;
	while (len < 4 || memcmp(head + len - 4, "\r\n\r\n", 4) != 0) {
		if (len + 1 >= sizeof head)
			return fail(c, HTTP_ERR_PROTOCOL, "proxy answer too long");
		ssize_t got = recv(*fdp, head + len, 1, 0);
		if (got == 1) {
			len++;
		} else if (got == 0) {
			return fail(c, HTTP_ERR_CONNECT, "proxy closed the connection");
		} else if (errno == EAGAIN || errno == EINTR) {
			int w = wait_fd(*fdp, POLLIN, c->deadline);
			if (w == 0)
				return fail(c, HTTP_ERR_TIMEOUT, "proxy timed out");
			if (w < 0)
				return fail(c, HTTP_ERR_CONNECT, "proxy: %s", strerror(errno));
		} else {
			return fail(c, HTTP_ERR_CONNECT, "proxy: %s", strerror(errno));
		}
	}
	head[len] = '\0';
	int code = 0;
	if (sscanf(head, "HTTP/1.%*1d %3d", &code) != 1 || code / 100 != 2)
		return fail(c, HTTP_ERR_CONNECT, "proxy refused the tunnel: %.40s", head);
	return HTTP_OK;
}

/* ---- TLS -------------------------------------------------------------------------- */

/* After an SSL call returned r <= 0: 1 retry, 0 timeout, -1 fatal, 2 clean EOF. */
static int ssl_wait(SSL *ssl, int fd, int r, long long deadline)
{
	int e = SSL_get_error(ssl, r);
	if (e == SSL_ERROR_ZERO_RETURN)
		return 2;
	short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
	if (ev == 0) {
		if (e == SSL_ERROR_SYSCALL && errno == 0 && ERR_peek_error() == 0)
			return 2; /* EOF without close_notify */
		return -1;
	}
	int w = wait_fd(fd, ev, deadline);
	return w > 0 ? 1 : w == 0 ? 0 : -1;
}

static void tls_err(struct ctx *c, SSL *ssl, const char *what)
{
	char buf[160] = "";
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (v != X509_V_OK)
		snprintf(buf, sizeof buf, "%s", X509_verify_cert_error_string(v));
	else
		ERR_error_string_n(ERR_peek_last_error(), buf, sizeof buf);
	if (c->err != NULL && c->errsize > 0 && c->err[0] == '\0')
		snprintf(c->err, c->errsize, "%s: %s", what, buf[0] ? buf : "failed");
}

static enum http_result tls_start(struct ctx *c, const struct http_options *opt,
				  const struct target *t, int fd, SSL_CTX **ctxp, SSL **sslp)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	*ctxp = ctx;
	if (ctx == NULL)
		return HTTP_ERR_INTERNAL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF | SSL_OP_NO_TICKET);
	int ok;
	if (opt->cafile != NULL || opt->capath != NULL) {
		ok = SSL_CTX_load_verify_locations(ctx, opt->cafile, opt->capath);
	} else {
		/* The compiled-in store, not SSL_CERT_FILE/SSL_CERT_DIR from a caller. */
		const char *file = X509_get_default_cert_file();
		const char *dir = X509_get_default_cert_dir();
		file = access(file, R_OK) == 0 ? file : NULL;
		dir = access(dir, R_OK) == 0 ? dir : NULL;
		ok = (file != NULL || dir != NULL) && SSL_CTX_load_verify_locations(ctx, file, dir);
	}
	if (ok != 1) {
		tls_err(c, NULL, "CA certificates");
		return HTTP_ERR_TLS;
	}
	SSL *ssl = SSL_new(ctx);
	*sslp = ssl;
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
		return HTTP_ERR_INTERNAL;
	X509_VERIFY_PARAM *vp = SSL_get0_param(ssl);
	X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (t->ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, t->host) != 1
		  : X509_VERIFY_PARAM_set1_host(vp, t->host, 0) != 1 ||
			    SSL_set_tlsext_host_name(ssl, t->host) != 1)
		return HTTP_ERR_INTERNAL;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_connect(ssl);
		if (r == 1)
			return HTTP_OK;
		int w = ssl_wait(ssl, fd, r, c->deadline);
		if (w == 0)
			return fail(c, HTTP_ERR_TIMEOUT, "TLS handshake timed out");
		if (w != 1) {
			tls_err(c, ssl, "TLS handshake");
			return HTTP_ERR_TLS;
		}
	}
}

static enum http_result tls_write_all(struct ctx *c, SSL *ssl, int fd, const char *p, size_t n)
{
	while (n > 0) {
		ERR_clear_error();
		errno = 0;
		int chunk = n > (1 << 30) ? (1 << 30) : (int)n;
		int r = SSL_write(ssl, p, chunk);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		int w = ssl_wait(ssl, fd, r, c->deadline);
		if (w == 0)
			return fail(c, HTTP_ERR_TIMEOUT, "sending timed out");
		if (w != 1)
			return fail(c, HTTP_ERR_CONNECT, "sending failed");
	}
	return HTTP_OK;
}

/* Read more into b (up to its max). 1 got data, 0 EOF; else an error result. */
static int tls_read_some(struct ctx *c, SSL *ssl, int fd, struct buf *b, enum http_result *res)
{
	char tmp[16384];
	for (;;) {
		ERR_clear_error();
		errno = 0;
		int r = SSL_read(ssl, tmp, sizeof tmp);
		if (r > 0) {
			int rc = buf_append(b, tmp, (size_t)r);
			explicit_bzero(tmp, (size_t)r);
			if (rc != 0) {
				c->resp->too_big = 1;
				*res = fail(c, HTTP_ERR_TOO_BIG, "answer too large");
				return -1;
			}
			return 1;
		}
		int w = ssl_wait(ssl, fd, r, c->deadline);
		if (w == 2)
			return 0;
		if (w == 0) {
			*res = fail(c, HTTP_ERR_TIMEOUT, "no complete answer in time");
			return -1;
		}
		if (w < 0) {
			*res = fail(c, HTTP_ERR_CONNECT, "receiving failed: %s",
				    errno ? strerror(errno) : "TLS error");
			return -1;
		}
	}
}

/* ---- HTTP ---------------------------------------------------------------------------- */

static int keep_header(char **slot, const char *v, size_t n)
{
	char *copy = malloc(n + 1);
	if (copy == NULL)
		return -1;
	memcpy(copy, v, n);
	copy[n] = '\0';
	secret_free(*slot);
	*slot = copy;
	return 0;
}

static void clear_headers(struct http_response *resp)
{
	secret_free(resp->authorization);
	secret_free(resp->retry_after);
	secret_free(resp->trace_id);
	secret_free(resp->db_jwt);
	resp->authorization = resp->retry_after = resp->trace_id = resp->db_jwt = NULL;
}

struct framing {
	long long content_length; /* -1: none */
	bool chunked;
};

/* Parse one header block [p, p+n) (without the blank line). */
static enum http_result parse_head(struct ctx *c, const char *p, size_t n, struct framing *f)
{
	struct http_response *resp = c->resp;
	const char *end = p + n;
	const char *eol = memchr(p, '\n', n);
	if (eol == NULL)
		eol = end;
	int major = 0, minor = 0, code = 0;
	if (sscanf(p, "HTTP/%1d.%1d %3d", &major, &minor, &code) != 3 || major != 1 || code < 100 ||
	    code > 999)
		return fail(c, HTTP_ERR_PROTOCOL, "not an HTTP/1.x answer");
	resp->status = code;
	clear_headers(resp);
	f->content_length = -1;
	f->chunked = false;
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
		{ "authorization", offsetof(struct http_response, authorization) },
		{ "retry-after", offsetof(struct http_response, retry_after) },
		{ "x-clerk-trace-id", offsetof(struct http_response, trace_id) },
		{ "clerk-db-jwt", offsetof(struct http_response, db_jwt) },
	};
	for (const char *line = eol + 1; line < end;) {
		const char *nl = memchr(line, '\n', (size_t)(end - line));
		const char *lend = nl != NULL ? nl : end;
		const char *colon = memchr(line, ':', (size_t)(lend - line));
		if (colon != NULL) {
			size_t name_len = (size_t)(colon - line);
			const char *v = colon + 1, *ve = lend;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
				if (strlen(wanted[i].name) != name_len ||
				    strncasecmp(line, wanted[i].name, name_len) != 0)
					continue;
				if ((size_t)(ve - v) > HEADER_VALUE_MAX) {
					resp->too_big = 1;
					return fail(c, HTTP_ERR_TOO_BIG, "header too large");
				}
				char **slot = (char **)(void *)((char *)resp + wanted[i].off);
				if (keep_header(slot, v, (size_t)(ve - v)) != 0)
					return HTTP_ERR_INTERNAL;
			}
			if (name_len == 14 && strncasecmp(line, "content-length", 14) == 0) {
				long long cl = 0;
				if (v == ve)
					return fail(c, HTTP_ERR_PROTOCOL, "bad Content-Length");
				for (const char *q = v; q < ve; q++) {
					if (*q < '0' || *q > '9' || cl > (1LL << 40))
						return fail(c, HTTP_ERR_PROTOCOL,
							    "bad Content-Length");
					cl = cl * 10 + (*q - '0');
				}
				f->content_length = cl;
			} else if (name_len == 17 &&
				   strncasecmp(line, "transfer-encoding", 17) == 0) {
				size_t vl = (size_t)(ve - v);
				f->chunked = vl >= 7 && strncasecmp(ve - 7, "chunked", 7) == 0;
			}
		}
		line = lend + 1;
	}
	return HTTP_OK;
}

/* Decode a complete chunked body from raw into out. 1 complete, 0 need more, -1 bad. */
static int dechunk(const char *raw, size_t n, struct buf *out, int *too_big)
{
	size_t i = 0;
	for (;;) {
		const char *nl = memchr(raw + i, '\n', n - i);
		if (nl == NULL)
			return 0;
		unsigned long long size = 0;
		size_t j = i;
		int digits = 0;
		for (; raw + j < nl; j++) {
			char ch = raw[j];
			int d = ch >= '0' && ch <= '9'	 ? ch - '0'
				: ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
				: ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
							 : -1;
			if (d < 0)
				break;
			if (++digits > 12)
				return -1;
			size = size * 16 + (unsigned)d;
		}
		if (digits == 0)
			return -1;
		i = (size_t)(nl - raw) + 1;
		if (size == 0) { /* trailers end at an empty line */
			for (;;) {
				const char *tl = memchr(raw + i, '\n', n - i);
				if (tl == NULL)
					return 0;
				bool empty = tl == raw + i || (tl == raw + i + 1 && raw[i] == '\r');
				i = (size_t)(tl - raw) + 1;
				if (empty)
					return 1;
			}
		}
		if (n - i < size + 1)
			return 0;
		if (buf_append(out, raw + i, (size_t)size) != 0) {
			*too_big = 1;
			return -1;
		}
		i += (size_t)size;
		if (raw[i] == '\r')
			i++;
		if (i >= n)
			return 0;
		if (raw[i] != '\n')
			return -1;
		i++;
	}
}

/* ---- SIGPIPE guard (as in src/http.c) ----------------------------------------------- */

struct sigpipe_guard {
	sigset_t old;
	bool was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE) == 1;
	pthread_sigmask(SIG_BLOCK, &pipe_set, &g->old);
}

static void sigpipe_restore(const struct sigpipe_guard *g)
{
	sigset_t pipe_set, pending;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (!g->was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
		const struct timespec zero = { 0, 0 };
		sigtimedwait(&pipe_set, NULL, &zero);
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

/* ---- the request ---------------------------------------------------------------------- */

static enum http_result exchange(struct ctx *c, const struct http_options *opt,
				 const struct http_request *req, const struct target *t, SSL *ssl,
				 int fd)
{
	struct http_response *resp = c->resp;
	struct buf out, raw;
	enum http_result r = HTTP_ERR_INTERNAL;
	const char *method = req->method != NULL ? req->method : req->body != NULL ? "POST" : "GET";
	const char *lb = strchr(t->host, ':') ? "[" : "", *rb = *lb ? "]" : "";
	char line[HOST_MAX + 64];

	buf_init(&out, HTTP_BODY_MAX + HEADERS_MAX);
	buf_init(&raw, HEADERS_MAX + HTTP_BODY_MAX + 64 * 1024);
	bool bad = buf_append_str(&out, method) || buf_append_str(&out, " ") ||
		   buf_append_str(&out, *t->path == '/' ? "" : "/") ||
		   buf_append_str(&out, *t->path ? t->path : "") ||
		   buf_append_str(&out, " HTTP/1.1\r\nHost: ");
	snprintf(line, sizeof line, "%s%s%s%s%s\r\n", lb, t->host, rb,
		 strcmp(t->port, "443") ? ":" : "", strcmp(t->port, "443") ? t->port : "");
	bad = bad || buf_append_str(&out, line);
	if (opt->user_agent != NULL)
		bad = bad || buf_append_str(&out, "User-Agent: ") ||
		      buf_append_str(&out, opt->user_agent) || buf_append_str(&out, "\r\n");
	bad = bad || buf_append_str(&out, "Accept: application/json\r\n");
	for (const char *const *h = req->headers; !bad && h != NULL && *h != NULL; h++) {
		size_t hl = strlen(*h);
		if (strpbrk(*h, "\r\n") != NULL || hl == 0) {
			bad = true;
			break;
		}
		if ((*h)[hl - 1] == ';') /* "Name;" = the header with an empty value */
			bad = buf_append(&out, *h, hl - 1) || buf_append_str(&out, ":\r\n");
		else
			bad = buf_append(&out, *h, hl) || buf_append_str(&out, "\r\n");
	}
	if (req->body != NULL) {
		snprintf(line, sizeof line, "Content-Length: %zu\r\n", req->body_len);
		bad = bad || buf_append_str(&out, line);
	}
	bad = bad || buf_append_str(&out, "Connection: close\r\n\r\n") ||
	      (req->body != NULL && buf_append(&out, req->body, req->body_len));
	if (bad) {
		r = fail(c, HTTP_ERR_INTERNAL, "request too large or malformed");
		goto out;
	}
	r = tls_write_all(c, ssl, fd, out.data, out.len);
	if (r != HTTP_OK)
		goto out;

	/* Header blocks: skip 1xx, cap all header bytes. */
	struct framing f = { -1, false };
	size_t start = 0, head_bytes = 0;
	for (;;) {
		char *sep = raw.len > start
				    ? memmem(raw.data + start, raw.len - start, "\r\n\r\n", 4)
				    : NULL;
		if (sep == NULL) {
			if (raw.len - start + head_bytes > HEADERS_MAX) {
				resp->too_big = 1;
				r = fail(c, HTTP_ERR_TOO_BIG, "headers too large");
				goto out;
			}
			int got = tls_read_some(c, ssl, fd, &raw, &r);
			if (got < 0)
				goto out;
			if (got == 0) {
				r = fail(c, raw.len == 0 ? HTTP_ERR_CONNECT : HTTP_ERR_PROTOCOL,
					 "connection closed before an answer");
				goto out;
			}
			continue;
		}
		size_t hn = (size_t)(sep - (raw.data + start));
		head_bytes += hn + 4;
		resp->header_bytes = head_bytes;
		if (head_bytes > HEADERS_MAX) {
			resp->too_big = 1;
			r = fail(c, HTTP_ERR_TOO_BIG, "headers too large");
			goto out;
		}
		r = parse_head(c, raw.data + start, hn, &f);
		if (r != HTTP_OK)
			goto out;
		start += hn + 4;
		if (resp->status >= 200 || resp->status == 101)
			break;
	}

	/* The body. */
	bool no_body = resp->status == 204 || resp->status == 304 || resp->status < 200 ||
		       strcmp(method, "HEAD") == 0;
	if (no_body) {
		r = HTTP_OK;
		goto out;
	}
	if (!f.chunked && f.content_length > (long long)HTTP_BODY_MAX) {
		resp->too_big = 1;
		r = fail(c, HTTP_ERR_TOO_BIG, "answer too large");
		goto out;
	}
	for (;;) {
		size_t have = raw.len - start;
		if (f.chunked) {
			buf_wipe(&resp->body);
			buf_init(&resp->body, HTTP_BODY_MAX);
			int too_big = 0;
			int d = have > 0 ? dechunk(raw.data + start, have, &resp->body, &too_big)
					 : 0;
			if (d == 1)
				break;
			if (d < 0) {
				resp->too_big = too_big;
				r = fail(c, too_big ? HTTP_ERR_TOO_BIG : HTTP_ERR_PROTOCOL,
					 "bad chunked body");
				goto out;
			}
		} else if (f.content_length >= 0 && have >= (size_t)f.content_length) {
			if (buf_append(&resp->body, raw.data + start, (size_t)f.content_length) !=
			    0) {
				resp->too_big = 1;
				r = HTTP_ERR_TOO_BIG;
				goto out;
			}
			break;
		} else if (f.content_length < 0 && have > HTTP_BODY_MAX) {
			resp->too_big = 1;
			r = fail(c, HTTP_ERR_TOO_BIG, "answer too large");
			goto out;
		}
		int got = tls_read_some(c, ssl, fd, &raw, &r);
		if (got < 0)
			goto out;
		if (got == 0) {
			if (f.chunked || f.content_length >= 0) {
				r = fail(c, HTTP_ERR_PROTOCOL, "answer cut short");
				goto out;
			}
			if (buf_append(&resp->body, raw.data + start, raw.len - start) != 0) {
				resp->too_big = 1;
				r = HTTP_ERR_TOO_BIG;
				goto out;
			}
			break;
		}
	}
	r = HTTP_OK;
out:
	buf_wipe(&out);
	buf_wipe(&raw);
	return r;
}

enum http_result http_perform(const struct http_options *opt, const struct http_request *req,
			      struct http_response *resp, char *err, size_t errsize)
{
	struct ctx c = { 0, 0, err, errsize, resp };
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (http_global_init() != 0)
		return fail(&c, HTTP_ERR_INTERNAL, "OpenSSL could not be initialised");
	long long t0 = now_ms();
	c.deadline = t0 + (opt->timeout_ms > 0 ? opt->timeout_ms : 10000);
	c.connect_deadline =
		t0 + (opt->connect_timeout_ms > 0 ? opt->connect_timeout_ms : opt->timeout_ms);

	struct target t;
	if (req->url == NULL || parse_url(req->url, "https://", "443", &t) != 0)
		return fail(&c, HTTP_ERR_INTERNAL, "not an https:// URL");

	struct sigpipe_guard guard;
	sigpipe_block(&guard);
	int fd = -1;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	enum http_result r = opt->proxy != NULL && opt->proxy[0] != '\0'
				     ? proxy_connect(&c, opt->proxy, &t, &fd)
				     : connect_to(&c, &t, &fd);
	if (r == HTTP_OK)
		r = tls_start(&c, opt, &t, fd, &ctx, &ssl);
	if (r == HTTP_OK)
		r = exchange(&c, opt, req, &t, ssl, fd);
	if (ssl != NULL)
		SSL_free(ssl); /* no close_notify: the server closes (Connection: close) */
	SSL_CTX_free(ctx);
	if (fd >= 0)
		close(fd);
	ERR_clear_error();
	sigpipe_restore(&guard);
	if (r != HTTP_OK)
		resp->status = 0;
	return r;
}

void http_response_free(struct http_response *resp)
{
	buf_wipe(&resp->body);
	clear_headers(resp);
	resp->status = 0;
}
