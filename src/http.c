#include "config.h"

#include "http.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define HEADERS_MAX	 (64 * 1024) /* every header block of one answer */
#define HEADER_VALUE_MAX 8192	     /* one kept header value */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;
static int system_min_tls; /* openssl.cnf's MinProtocol, 0 when none */

/* Once per process, never cleaned up: the host may use OpenSSL or libcurl
 * itself, and the module stays loaded (-z nodelete).
 * - OpenSSL first, with the system's openssl.cnf named by path: libcurl's
 *   own init would read OPENSSL_CONF from a caller's environment (su), and
 *   OpenSSL loads its configuration only once per process.
 * - libcurl opens SSLKEYLOGFILE in curl_global_init; a caller's environment
 *   must not make root write TLS secrets, so it is hidden meanwhile. */
static void global_init(void)
{
	char path[4096];
	OPENSSL_INIT_SETTINGS *settings = OPENSSL_INIT_new();
	int n = snprintf(path, sizeof path, "%s/openssl.cnf", X509_get_default_cert_area());
	int ok = settings != NULL && n > 0 && (size_t)n < sizeof path &&
		 OPENSSL_INIT_set_config_filename(settings, path) == 1 &&
		 OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, settings) == 1;
	OPENSSL_INIT_free(settings);
	/* What the system's policy asks of a new context, before libcurl
	 * lowers the minimum to what CURLOPT_SSLVERSION says. */
	SSL_CTX *probe = ok ? SSL_CTX_new(TLS_client_method()) : NULL;
	if (probe != NULL) {
		system_min_tls = (int)SSL_CTX_get_min_proto_version(probe);
		SSL_CTX_free(probe);
	}

	char *keylog = getenv("SSLKEYLOGFILE");
	char *saved = keylog != NULL ? strdup(keylog) : NULL;
	if (keylog != NULL)
		unsetenv("SSLKEYLOGFILE");
	ok = ok && curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
	if (saved != NULL) {
		setenv("SSLKEYLOGFILE", saved, 1);
		free(saved);
	}
	/* The options below need 7.87 (CURLOPT_QUICK_EXIT) and OpenSSL
	 * (CURLOPT_SSL_CTX_FUNCTION); a runtime older than the build refuses. */
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	ok = ok && v != NULL && (v->features & CURL_VERSION_SSL) && v->version_num >= 0x075700 &&
	     v->ssl_version != NULL && strncmp(v->ssl_version, "OpenSSL/", 8) == 0;
	init_result = ok ? 0 : -1;
}

int http_global_init(void)
{
	pthread_once(&init_once, global_init);
	return init_result;
}

struct conn {
	struct http_conn base;
	struct http_options opt;
	CURL *curl;
	enum { FRESH, READY, BROKEN } state;
	char curl_err[CURL_ERROR_SIZE];
	/* The request in flight. */
	struct http_response *resp;
	const char *refused; /* why a callback stopped the answer */
};

/* ---- what comes back -------------------------------------------------------------- */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct conn *c = ctx;
	size_t n = size * nmemb;
	if (buf_append(&c->resp->body, data, n) != 0) {
		c->resp->too_big = 1;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	return n;
}

/* The response headers the Clerk client reads; the rest are skipped. */
static const struct {
	const char *name;
	size_t off;
} kept[] = {
	{ "authorization", offsetof(struct http_response, authorization) },
	{ "retry-after", offsetof(struct http_response, retry_after) },
	{ "x-clerk-trace-id", offsetof(struct http_response, trace_id) },
};
#define NKEPT (sizeof kept / sizeof kept[0])

static char **kept_slot(struct http_response *resp, size_t i)
{
	return (char **)(void *)((char *)resp + kept[i].off);
}

/* libcurl hands over one whole header line at a time (LF ends a line, so a
 * bare LF inside a value makes a second line: a kept header that comes
 * twice is refused, and so are a control byte inside a kept value and a
 * folded line). */
static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct conn *c = ctx;
	struct http_response *resp = c->resp;
	size_t n = size * nmemb;
	resp->header_bytes += n;
	if (resp->header_bytes > HEADERS_MAX) {
		resp->too_big = 1;
		return 0;
	}
	/* A status line starts a new header block (after a 1xx). */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		for (size_t i = 0; i < NKEPT; i++) {
			secret_free(*kept_slot(resp, i));
			*kept_slot(resp, i) = NULL;
		}
		return n;
	}
	/* An obsolete folded line would continue a value we may keep; no
	 * server of Clerk's folds, so the answer is refused. */
	if (n > 0 && (data[0] == ' ' || data[0] == '\t')) {
		c->refused = "a folded response header";
		return 0;
	}
	const char *colon = memchr(data, ':', n);
	if (colon == NULL)
		return n;
	size_t name_len = (size_t)(colon - data);
	for (size_t i = 0; i < NKEPT; i++) {
		if (strlen(kept[i].name) != name_len ||
		    strncasecmp(data, kept[i].name, name_len) != 0)
			continue;
		const char *v = colon + 1;
		const char *end = data + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v &&
		       (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
		size_t len = (size_t)(end - v);
		if (len > HEADER_VALUE_MAX) {
			resp->too_big = 1;
			return 0;
		}
		for (size_t j = 0; j < len; j++)
			if (((unsigned char)v[j] < 0x20 && v[j] != '\t') || v[j] == 0x7f) {
				c->refused = "a control byte in a response header";
				return 0;
			}
		char **slot = kept_slot(resp, i);
		if (*slot != NULL) {
			c->refused = "a response header came twice";
			return 0;
		}
		if ((*slot = strndup(v, len)) == NULL)
			return 0;
	}
	return n;
}

static enum http_result classify(CURLcode rc, const struct conn *c)
{
	switch (rc) {
	case CURLE_OK: return HTTP_OK;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING: return HTTP_ERR_CONNECT;
	case CURLE_OPERATION_TIMEDOUT: return HTTP_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED: return HTTP_ERR_TLS;
	case CURLE_FILESIZE_EXCEEDED: return HTTP_ERR_TOO_BIG;
	case CURLE_WRITE_ERROR:
		return c->resp->too_big ? HTTP_ERR_TOO_BIG
		       : c->refused	? HTTP_ERR_PROTOCOL
					: HTTP_ERR_INTERNAL;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT:
	case CURLE_UNKNOWN_OPTION:
	case CURLE_BAD_FUNCTION_ARGUMENT: return HTTP_ERR_INTERNAL;
	default: return HTTP_ERR_PROTOCOL; /* broken, cut-off or refused HTTP */
	}
}

/* ---- signals ------------------------------------------------------------------------ */

/* CURLOPT_NOSIGNAL keeps libcurl's hands off signal handlers; a write to a
 * socket the peer closed still raises SIGPIPE. Block it for this thread
 * while libcurl runs, swallow one we caused, restore the host's mask. */
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

/* ---- the handle ----------------------------------------------------------------------- */

/* OpenSSL's context of each new connection, after libcurl set it up:
 * decrypted records (client tokens, JWTs) are wiped from its buffers, and
 * a system minimum stricter than TLS 1.2 (openssl.cnf) stays. */
static CURLcode on_ssl_ctx(CURL *curl, void *ssl_ctx, void *ctx)
{
	(void)curl;
	(void)ctx;
	SSL_CTX_set_options(ssl_ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					     SSL_OP_CLEANSE_PLAINTEXT);
	if (system_min_tls > SSL_CTX_get_min_proto_version(ssl_ctx) &&
	    SSL_CTX_set_min_proto_version(ssl_ctx, system_min_tls) != 1)
		return CURLE_SSL_CIPHER;
	return CURLE_OK;
}

/* The trust store. Without cafile/capath, OpenSSL's hashed certificate
 * directory (/usr/lib/ssl/certs, i.e. /etc/ssl/certs on Debian) and no
 * bundle: a handshake reads only the certificates its chain needs, not
 * all ~145 of ca-certificates.crt. Both paths are compiled into OpenSSL,
 * never taken from SSL_CERT_DIR/SSL_CERT_FILE (or curl's CURL_CA_BUNDLE,
 * which only the curl tool reads). AT_EACCESS: under su the real uid is
 * the caller's. */
static int set_trust(CURL *curl, const struct http_options *opt)
{
	const char *file = opt->cafile, *dir = opt->capath;
	if (file == NULL && dir == NULL) {
		dir = X509_get_default_cert_dir();
		if (faccessat(AT_FDCWD, dir, R_OK | X_OK, AT_EACCESS) != 0) {
			dir = NULL;
			file = X509_get_default_cert_file();
		}
	}
	/* NULL clears the bundle compiled into libcurl. */
	return curl_easy_setopt(curl, CURLOPT_CAINFO, file) != CURLE_OK ||
			       curl_easy_setopt(curl, CURLOPT_CAPATH, dir) != CURLE_OK
		       ? -1
		       : 0;
}

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (curl_easy_setopt(curl, opt, val) != CURLE_OK)                                  \
			return -1;                                                                 \
	} while (0)

/* What every request of the connection shares; each option is set, none
 * left to a default that the build or the environment could change. */
static int set_common(struct conn *c)
{
	CURL *curl = c->curl;
	const struct http_options *opt = &c->opt;
	SET(CURLOPT_ERRORBUFFER, c->curl_err);
	SET(CURLOPT_NOSIGNAL, 1L);
	/* https only, also after a redirect, which is never followed anyway:
	 * FAPI answers 3xx only when something in between is wrong. */
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_MAXREDIRS, 0L);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	/* An empty proxy means none, and stops libcurl reading *_proxy; an
	 * empty NOPROXY stops it reading NO_PROXY. The proxy (conf.c checks
	 * http:// only) tunnels with CONNECT; its credentials sent at once. */
	SET(CURLOPT_PROXY, opt->proxy != NULL ? opt->proxy : "");
	SET(CURLOPT_NOPROXY, "");
	SET(CURLOPT_PROXYTYPE, (long)CURLPROXY_HTTP);
	SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
	SET(CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
	SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
	/* No files read or written: no netrc, no HSTS cache; cookies and
	 * alt-svc stay off because COOKIEFILE/COOKIEJAR and ALTSVC/ALTSVC_CTRL
	 * are never set (ALTSVC_CTRL refuses 0). */
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	SET(CURLOPT_HSTS_CTRL, 0L);
	/* TLS: 1.2 or later, the peer's chain and name verified, no way to
	 * switch that off. */
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSL_OPTIONS, 0L);
	SET(CURLOPT_SSL_CTX_FUNCTION, on_ssl_ctx);
	if (set_trust(curl, opt) != 0)
		return -1;
	/* One connection, one DNS answer: several addresses raced the way
	 * RFC 8305 says (libcurl's default delay, named here). */
	SET(CURLOPT_MAXCONNECTS, 1L);
	SET(CURLOPT_HAPPY_EYEBALLS_TIMEOUT_MS, 200L);
	SET(CURLOPT_TCP_NODELAY, 1L);
	/* A resolver thread stuck on a silent DNS server is left to finish on
	 * its own: libcurl would otherwise join it at cleanup, past the budget. */
	SET(CURLOPT_QUICK_EXIT, 1L);
	/* The answer's caps: the body in on_body and here, headers in on_header.
	 * No compressed answers (no decompression bombs). */
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	SET(CURLOPT_ACCEPT_ENCODING, NULL);
	SET(CURLOPT_USERAGENT, opt->user_agent);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, c);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, c);
	return 0;
}

/* The request's own options. Connect time (DNS, TCP, proxy, TLS) comes
 * from connect_timeout, never more than what is left of the budget. */
static int set_request(struct conn *c, const struct http_request *req, struct curl_slist *headers)
{
	CURL *curl = c->curl;
	long total = req->timeout_ms > 0 ? req->timeout_ms : 1;
	long connect = c->opt.connect_timeout_ms > 0 && c->opt.connect_timeout_ms < total
			       ? c->opt.connect_timeout_ms
			       : total;
	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_TIMEOUT_MS, total);
	SET(CURLOPT_CONNECTTIMEOUT_MS, connect);
	if (req->body != NULL) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, req->body); /* not copied: the caller wipes it */
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else {
		SET(CURLOPT_HTTPGET, 1L);
	}
	SET(CURLOPT_CUSTOMREQUEST, req->method);
	return 0;
}

#undef SET

/* Header lists may carry the client token: wipe libcurl's copies first. */
static void wipe_slist(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l != NULL; l = l->next)
		if (l->data != NULL)
			explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

static struct curl_slist *request_headers(const struct http_request *req)
{
	struct curl_slist *list = NULL;
	/* No "Expect: 100-continue" round trip; ask for JSON. */
	static const char *const ours[] = { "Expect:", "Accept: application/json", NULL };
	for (int pass = 0; pass < 2; pass++)
		for (const char *const *h = pass == 0 ? req->headers : ours;
		     h != NULL && *h != NULL; h++) {
			struct curl_slist *n = curl_slist_append(list, *h);
			if (n == NULL) {
				wipe_slist(list);
				return NULL;
			}
			list = n;
		}
	return list;
}

static enum http_result conn_perform(struct http_conn *self, const struct http_request *req,
				     struct http_response *resp, char *err, size_t errsize)
{
	struct conn *c = (struct conn *)self;
	char why[CURL_ERROR_SIZE + 64] = "";
	enum http_result result = HTTP_ERR_INTERNAL;
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	if (err != NULL && errsize > 0)
		err[0] = '\0';

	if (c->state == FRESH) {
		c->state = BROKEN;
		if (http_global_init() != 0)
			snprintf(why, sizeof why, "libcurl could not be initialised");
		else if ((c->curl = curl_easy_init()) == NULL)
			snprintf(why, sizeof why, "out of memory");
		else if (set_common(c) != 0)
			snprintf(why, sizeof why, "libcurl refused an option (too old a libcurl?)");
		else
			c->state = READY;
	}
	struct curl_slist *headers = NULL;
	if (c->state != READY) {
		if (why[0] == '\0')
			snprintf(why, sizeof why, "no transport");
	} else if ((headers = request_headers(req)) == NULL) {
		snprintf(why, sizeof why, "out of memory");
	} else if (set_request(c, req, headers) != 0) {
		snprintf(why, sizeof why, "libcurl refused a request option");
	} else {
		c->resp = resp;
		c->refused = NULL;
		c->curl_err[0] = '\0';
		struct sigpipe_guard guard;
		sigpipe_block(&guard);
		CURLcode rc = curl_easy_perform(c->curl);
		sigpipe_restore(&guard);
		result = classify(rc, c);
		if (result == HTTP_OK)
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
		else
			snprintf(why, sizeof why, "%s",
				 c->refused	  ? c->refused
				 : c->curl_err[0] ? c->curl_err
				 : resp->too_big  ? "answer over the size cap"
						  : curl_easy_strerror(rc));
		c->resp = NULL;
		/* Nothing of this request stays referenced by the handle. */
		curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, NULL);
	}
	wipe_slist(headers);
	if (result != HTTP_OK) {
		resp->status = 0;
		if (err != NULL && errsize > 0)
			snprintf(err, errsize, "%s", why);
	}
	return result;
}

static void conn_free(struct http_conn *self)
{
	struct conn *c = (struct conn *)self;
	if (c->curl != NULL) {
		/* Closing writes TLS close_notify, maybe to a closed socket. */
		struct sigpipe_guard guard;
		sigpipe_block(&guard);
		curl_easy_cleanup(c->curl);
		sigpipe_restore(&guard);
	}
	free(c);
}

struct http_conn *http_conn_new(const struct http_options *opt)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	c->base.perform = conn_perform;
	c->base.free = conn_free;
	c->opt = *opt;
	c->state = FRESH;
	return &c->base;
}
