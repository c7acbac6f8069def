#include "config.h"

#include "http.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define HEADERS_MAX	 (64 * 1024)
#define HEADER_VALUE_MAX 8192

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_result = -1;

/* curl_global_init once per process, never cleaned up: the host may use
 * OpenSSL itself, and the module stays loaded (-z nodelete). libcurl opens
 * SSLKEYLOGFILE at init; a caller's environment (su) must not make root
 * write TLS secrets, so the variable is hidden during init. */
static void global_init(void)
{
	char *keylog = getenv("SSLKEYLOGFILE");
	char *saved = keylog != NULL ? strdup(keylog) : NULL;
	if (keylog != NULL)
		unsetenv("SSLKEYLOGFILE");
	init_result = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
	if (saved != NULL) {
		setenv("SSLKEYLOGFILE", saved, 1);
		free(saved);
	}
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	if (v == NULL || !(v->features & CURL_VERSION_SSL))
		init_result = -1;
}

int http_global_init(void)
{
	pthread_once(&init_once, global_init);
	return init_result;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct http_response *resp = ctx;
	size_t n = size * nmemb;
	if (buf_append(&resp->body, data, n) != 0) {
		resp->too_big = 1;
		return 0; /* curl stops with CURLE_WRITE_ERROR */
	}
	return n;
}

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

static size_t on_header(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct http_response *resp = ctx;
	size_t n = size * nmemb;
	resp->header_bytes += n;
	if (resp->header_bytes > HEADERS_MAX) {
		resp->too_big = 1;
		return 0;
	}
	/* A new status line starts a new header block (after 1xx). */
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		clear_headers(resp);
		return n;
	}
	static const struct {
		const char *name;
		size_t off;
	} wanted[] = {
		{ "authorization", offsetof(struct http_response, authorization) },
		{ "retry-after", offsetof(struct http_response, retry_after) },
		{ "x-clerk-trace-id", offsetof(struct http_response, trace_id) },
		{ "clerk-db-jwt", offsetof(struct http_response, db_jwt) },
	};
	const char *colon = memchr(data, ':', n);
	if (colon == NULL)
		return n;
	size_t name_len = (size_t)(colon - data);
	for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
		if (strlen(wanted[i].name) != name_len ||
		    strncasecmp(data, wanted[i].name, name_len) != 0)
			continue;
		const char *v = colon + 1;
		const char *end = data + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v &&
		       (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if ((size_t)(end - v) > HEADER_VALUE_MAX) {
			resp->too_big = 1;
			return 0;
		}
		char **slot = (char **)(void *)((char *)resp + wanted[i].off);
		if (keep_header(slot, v, (size_t)(end - v)) != 0)
			return 0;
	}
	return n;
}

static enum http_result classify(CURLcode rc, const struct http_response *resp)
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
	case CURLE_WRITE_ERROR: return resp->too_big ? HTTP_ERR_TOO_BIG : HTTP_ERR_INTERNAL;
	case CURLE_OUT_OF_MEMORY:
	case CURLE_FAILED_INIT: return HTTP_ERR_INTERNAL;
	default: return HTTP_ERR_PROTOCOL;
	}
}

/* Block SIGPIPE for this thread while curl and OpenSSL write to sockets,
 * then swallow one we caused and restore the host's mask. */
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

/* Header lists may carry the client token: wipe curl's copies before freeing. */
static void wipe_slist(struct curl_slist *list)
{
	for (struct curl_slist *l = list; l != NULL; l = l->next)
		if (l->data != NULL)
			explicit_bzero(l->data, strlen(l->data));
	curl_slist_free_all(list);
}

#define SET(opt, val)                                                                              \
	do {                                                                                       \
		if (curl_easy_setopt(curl, opt, val) != CURLE_OK)                                  \
			goto setopt_failed;                                                        \
	} while (0)

enum http_result http_perform(const struct http_options *opt, const struct http_request *req,
			      struct http_response *resp, char *err, size_t errsize)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	enum http_result result = HTTP_ERR_INTERNAL;
	struct curl_slist *headers = NULL;

	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (http_global_init() != 0) {
		if (err != NULL)
			snprintf(err, errsize, "libcurl could not be initialised");
		return HTTP_ERR_INTERNAL;
	}
	CURL *curl = curl_easy_init();
	if (curl == NULL)
		return HTTP_ERR_INTERNAL;

	for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
		struct curl_slist *n = curl_slist_append(headers, *h);
		if (n == NULL)
			goto out;
		headers = n;
	}
	/* No "Expect: 100-continue" round trip; ask for JSON. */
	struct curl_slist *n = curl_slist_append(headers, "Expect:");
	if (n == NULL ||
	    (headers = n, n = curl_slist_append(headers, "Accept: application/json")) == NULL)
		goto out;
	headers = n;

	SET(CURLOPT_URL, req->url);
	SET(CURLOPT_HTTPHEADER, headers);
	SET(CURLOPT_ERRORBUFFER, curl_err);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
	/* An empty string means "no proxy" and stops curl reading *_proxy. */
	SET(CURLOPT_PROXY, opt->proxy != NULL ? opt->proxy : "");
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (opt->cafile != NULL)
		SET(CURLOPT_CAINFO, opt->cafile);
	if (opt->capath != NULL)
		SET(CURLOPT_CAPATH, opt->capath);
	SET(CURLOPT_TIMEOUT_MS, opt->timeout_ms);
#if LIBCURL_VERSION_NUM >= 0x075700
	/* Since 7.87 curl joins a resolver thread still stuck in getaddrinfo on
	 * cleanup, so a silent DNS server would hold the login for glibc's own
	 * timeout. Let the thread finish on its own instead. */
	SET(CURLOPT_QUICK_EXIT, 1L);
#endif
	SET(CURLOPT_CONNECTTIMEOUT_MS, opt->connect_timeout_ms);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_BODY_MAX);
	SET(CURLOPT_USERAGENT, opt->user_agent);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, resp);
	SET(CURLOPT_HEADERFUNCTION, on_header);
	SET(CURLOPT_HEADERDATA, resp);
	SET(CURLOPT_ACCEPT_ENCODING, NULL); /* no decompression bombs */
	if (req->body != NULL) {
		SET(CURLOPT_POST, 1L);
		SET(CURLOPT_POSTFIELDS, req->body);
		SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
	} else {
		SET(CURLOPT_HTTPGET, 1L);
	}
	if (req->method != NULL)
		SET(CURLOPT_CUSTOMREQUEST, req->method);

	struct sigpipe_guard guard;
	sigpipe_block(&guard);
	CURLcode rc = curl_easy_perform(curl);
	sigpipe_restore(&guard);

	result = classify(rc, resp);
	if (result == HTTP_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	else if (err != NULL)
		snprintf(err, errsize, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
	goto out;

setopt_failed:
	if (err != NULL)
		snprintf(err, errsize, "libcurl refused an option (too old a libcurl?)");
out:
	curl_easy_cleanup(curl);
	wipe_slist(headers);
	return result;
}

void http_response_free(struct http_response *resp)
{
	buf_wipe(&resp->body);
	clear_headers(resp);
	resp->status = 0;
}
