/* The HTTPS transport over libcurl (http.c): one easy handle per PAM call,
 * so every request of a login shares one TCP+TLS connection, DNS answer
 * and TLS session. Covers PAM-NOTES pitfalls 1-6, 10 and 11: no
 * environment is read, no redirect followed, no signal raised, one budget. */
#ifndef PAM_CLERK_HTTP_H
#define PAM_CLERK_HTTP_H

#include "buf.h"

#include <stddef.h>

#define HTTP_BODY_MAX (1024 * 1024)

struct http_options {
	const char *cafile; /* NULL: the system's CA store */
	const char *capath;
	const char *proxy; /* http://host[:port], or NULL: no proxy, whatever the
			      environment says */
	long connect_timeout_ms;
	const char *user_agent;
};

struct http_request {
	const char *method; /* NULL: POST with a body, GET without */
	const char *url;
	const char *const *headers; /* "Name: value" or "Name;" (empty), NULL-ended */
	const char *body;	    /* POST body, or NULL for GET */
	size_t body_len;
	long timeout_ms; /* this request: what is left of the caller's budget */
};

struct http_response {
	long status;
	struct buf body;
	/* Response headers the Clerk client needs (wiped on free). */
	char *authorization; /* NULL when absent */
	char *retry_after;
	char *trace_id;
	size_t header_bytes;
	int too_big; /* set when the body or headers went over the cap */
};

enum http_result {
	HTTP_OK,	  /* an HTTP answer arrived, any status */
	HTTP_ERR_CONNECT, /* DNS failure, refused, unreachable */
	HTTP_ERR_TIMEOUT,
	HTTP_ERR_TLS,	   /* handshake or certificate verification */
	HTTP_ERR_TOO_BIG,  /* body or headers over the cap */
	HTTP_ERR_PROTOCOL, /* broken or cut-off HTTP */
	HTTP_ERR_INTERNAL,
};

/* OpenSSL's and libcurl's process-wide set-up, done once and never undone;
 * 0 on success. */
int http_global_init(void);

/* The transport of one PAM call: every request of it goes through one
 * connection (one TCP+TLS connection, DNS answer and TLS session), made
 * and freed inside that call. An interface, so that tests can put a fake
 * transport in its place. */
struct http_conn {
	/* Perform the request. On any result, free the response with
	 * http_response_free. err (may be NULL) gets a short reason. */
	enum http_result (*perform)(struct http_conn *self, const struct http_request *req,
				    struct http_response *resp, char *err, size_t errsize);
	void (*free)(struct http_conn *self);
};

/* The real transport with these options (copied; the strings they point to
 * must outlive it): one libcurl easy handle, made at the first request and
 * cleaned up by http_conn_free, inside the PAM call. Each request's
 * timeout_ms bounds it whole (CURLOPT_TIMEOUT_MS); a new connection must
 * be up within min(connect_timeout_ms, timeout_ms). NULL when out of
 * memory. */
struct http_conn *http_conn_new(const struct http_options *opt);

static inline enum http_result http_perform(struct http_conn *conn, const struct http_request *req,
					    struct http_response *resp, char *err, size_t errsize)
{
	return conn->perform(conn, req, resp, err, errsize);
}

static inline void http_conn_free(struct http_conn *conn)
{
	if (conn != NULL)
		conn->free(conn);
}

/* In http_response.c: the fuzz targets' fake transports use it too. */
void http_response_free(struct http_response *resp);

#endif
