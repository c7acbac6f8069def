#include "config.h"

#include "http.h"

#include "http_wire.h"
#include "net.h"
#include "tls.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;

/* OpenSSL's set-up once per process, never cleaned up: the host may use
 * OpenSSL itself, and the module stays loaded (-z nodelete). The system's
 * openssl.cnf applies (its policy is the admin's), named by path so that
 * OPENSSL_CONF from a caller's environment cannot load a provider into a
 * root process that is not setuid (OpenSSL ignores it only when it is). */
static void global_init(void)
{
	char path[4096];
	OPENSSL_INIT_SETTINGS *settings = OPENSSL_INIT_new();
	int n = snprintf(path, sizeof path, "%s/openssl.cnf", X509_get_default_cert_area());
	int ok = settings != NULL && n > 0 && (size_t)n < sizeof path &&
		 OPENSSL_INIT_set_config_filename(settings, path) == 1 &&
		 OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, settings) == 1;
	OPENSSL_INIT_free(settings);
	init_result = ok ? 0 : -1;
}

int http_global_init(void)
{
	pthread_once(&init_once, global_init);
	return init_result;
}

/* Block SIGPIPE for this thread while OpenSSL writes to the socket, then
 * swallow one we caused and restore the host's mask. */
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

static long long earlier(long long a, long long b)
{
	return a < b ? a : b;
}

/* Through an http:// proxy: CONNECT, then the answer's head read byte by
 * byte so that nothing of the tunnel is taken for it. */
static enum http_result proxy_tunnel(const char *proxy, const struct http_target *dst,
				     long long deadline, int *fd, char *err, size_t errsize)
{
	struct http_target pt;
	struct buf auth;
	buf_init(&auth, 2048);
	if (http_proxy_parse(proxy, &pt, &auth) != 0) {
		buf_wipe(&auth);
		snprintf(err, errsize, "proxy must be http://[user:password@]host[:port]");
		return HTTP_ERR_INTERNAL;
	}
	enum http_result r = net_connect(pt.host, pt.port, pt.ip, deadline, fd, err, errsize);
	if (r != HTTP_OK) {
		buf_wipe(&auth);
		return r;
	}
	struct buf req;
	buf_init(&req, 4096);
	int built = http_connect_build(&req, dst, auth.len > 0 ? auth.data : NULL);
	buf_wipe(&auth);
	if (built != 0) {
		buf_wipe(&req);
		return HTTP_ERR_INTERNAL;
	}
	for (size_t off = 0; off < req.len && r == HTTP_OK;) {
		ssize_t w = send(*fd, req.data + off, req.len - off, MSG_NOSIGNAL);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && (errno == EAGAIN || errno == EINTR))
			r = net_wait(*fd, POLLOUT, deadline) == 1 ? HTTP_OK : HTTP_ERR_TIMEOUT;
		else
			r = HTTP_ERR_CONNECT;
	}
	buf_wipe(&req);

	struct http_response answer;
	memset(&answer, 0, sizeof answer);
	buf_init(&answer.body, 0);
	struct http_reader rd;
	http_reader_init(&rd, &answer, true);
	int got = 0;
	while (r == HTTP_OK && got == 0) {
		char c;
		ssize_t n = recv(*fd, &c, 1, 0);
		if (n >= 0) {
			got = http_reader_feed(&rd, &c, (size_t)n);
			if (got < 0)
				r = rd.error == HTTP_ERR_PROTOCOL ? HTTP_ERR_CONNECT : rd.error;
		} else if (errno == EAGAIN || errno == EINTR) {
			int w = net_wait(*fd, POLLIN, deadline);
			r = w == 1 ? HTTP_OK : w == 0 ? HTTP_ERR_TIMEOUT : HTTP_ERR_CONNECT;
		} else {
			r = HTTP_ERR_CONNECT;
		}
	}
	if (r == HTTP_OK && (answer.status < 200 || answer.status > 299)) {
		snprintf(err, errsize, "the proxy refused the tunnel (HTTP %ld)", answer.status);
		r = HTTP_ERR_CONNECT;
	} else if (r != HTTP_OK && err[0] == '\0') {
		snprintf(err, errsize, "no tunnel through the proxy (%s)",
			 rd.why != NULL		 ? rd.why
			 : r == HTTP_ERR_TIMEOUT ? "timed out"
						 : "failed");
	}
	http_reader_free(&rd);
	http_response_free(&answer);
	return r;
}

static enum http_result exchange(struct tls_conn *tls, const struct http_target *t,
				 const struct http_options *opt, const struct http_request *req,
				 long long deadline, struct http_response *resp, char *err,
				 size_t errsize)
{
	struct buf out;
	buf_init(&out, HTTP_BODY_MAX + HTTP_HEADERS_MAX);
	enum http_result r = HTTP_OK;
	if (http_request_build(&out, t, req, opt->user_agent) != 0) {
		snprintf(err, errsize, "request too large or malformed");
		r = HTTP_ERR_INTERNAL;
	} else {
		r = tls_write_all(tls, out.data, out.len, deadline);
		if (r != HTTP_OK)
			snprintf(err, errsize, "sending %s",
				 r == HTTP_ERR_TIMEOUT ? "timed out" : "failed");
	}
	buf_wipe(&out);
	if (r != HTTP_OK)
		return r;

	struct http_reader rd;
	http_reader_init(&rd, resp, false);
	char chunk[16384];
	int got = 0;
	while (got == 0) {
		long n = tls_read(tls, chunk, sizeof chunk, deadline, &r);
		if (n < 0) {
			snprintf(err, errsize, "%s",
				 r == HTTP_ERR_TIMEOUT ? "no complete answer in time"
						       : "receiving failed");
			break;
		}
		got = http_reader_feed(&rd, chunk, (size_t)n);
		explicit_bzero(chunk, (size_t)n);
		if (got < 0) {
			r = rd.error;
			snprintf(err, errsize, "%s", rd.why);
		}
	}
	http_reader_free(&rd);
	return r;
}

static enum http_result perform_once(const struct http_options *opt, const struct http_request *req,
				     struct http_response *resp, char *err, size_t errsize)
{
	char why[256] = "";
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (http_global_init() != 0) {
		if (err != NULL)
			snprintf(err, errsize, "OpenSSL could not be initialised");
		return HTTP_ERR_INTERNAL;
	}
	struct http_target t;
	if (http_target_parse(req->url, "https://", "443", &t) != 0) {
		if (err != NULL)
			snprintf(err, errsize, "not an https:// URL");
		return HTTP_ERR_INTERNAL;
	}
	long long start = net_now_ms();
	long long deadline = start + (req->timeout_ms > 0 ? req->timeout_ms : 10000);
	/* Like curl's connect timeout: DNS, TCP, the proxy and the TLS handshake. */
	long long connected_by = opt->connect_timeout_ms > 0
					 ? earlier(start + opt->connect_timeout_ms, deadline)
					 : deadline;

	struct sigpipe_guard guard;
	sigpipe_block(&guard);
	int fd = -1;
	struct tls_conn *tls = NULL;
	enum http_result r =
		opt->proxy != NULL && opt->proxy[0] != '\0'
			? proxy_tunnel(opt->proxy, &t, connected_by, &fd, why, sizeof why)
			: net_connect(t.host, t.port, t.ip, connected_by, &fd, why, sizeof why);
	if (r == HTTP_OK)
		r = tls_open(fd, t.host, t.ip, opt->cafile, opt->capath, connected_by, &tls, why,
			     sizeof why);
	if (r == HTTP_OK)
		r = exchange(tls, &t, opt, req, deadline, resp, why, sizeof why);
	tls_close(tls);
	if (fd >= 0)
		close(fd);
	sigpipe_restore(&guard);

	if (r != HTTP_OK) {
		resp->status = 0;
		if (err != NULL && errsize > 0)
			snprintf(err, errsize, "%s", why[0] ? why : "request failed");
	}
	return r;
}

struct conn {
	struct http_conn base;
	struct http_options opt;
};

static enum http_result conn_perform(struct http_conn *self, const struct http_request *req,
				     struct http_response *resp, char *err, size_t errsize)
{
	return perform_once(&((struct conn *)self)->opt, req, resp, err, errsize);
}

static void conn_free(struct http_conn *self)
{
	free(self);
}

struct http_conn *http_conn_new(const struct http_options *opt)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->base.perform = conn_perform;
	c->base.free = conn_free;
	c->opt = *opt;
	return &c->base;
}
