/* HTTP/1.1 without I/O: the target of a URL, the request bytes we send,
 * and the reading of the answer with the http_parser library. Kept apart
 * from sockets and TLS so that it can be unit-tested and fuzzed. */
#ifndef PAM_CLERK_HTTP_WIRE_H
#define PAM_CLERK_HTTP_WIRE_H

#include "buf.h"
#include "http.h"

#include <http_parser.h>
#include <stdbool.h>
#include <stddef.h>

#define HTTP_HEADERS_MAX      (64 * 1024) /* all header blocks of one answer */
#define HTTP_HEADER_VALUE_MAX 8192	  /* one kept header value */
#define HTTP_HOST_MAX	      256

struct http_target {
	char host[HTTP_HOST_MAX]; /* without IPv6 brackets */
	char port[6];
	const char *path; /* into the URL: "", or from its '/' or '?' on */
	bool ip;	  /* host is an IPv4 or IPv6 literal */
};

/* Split "<scheme>host[:port][/path]" (scheme like "https://", matched
 * without case). No user info, no fragment. 0, or -1 when malformed. */
int http_target_parse(const char *url, const char *scheme, const char *default_port,
		      struct http_target *t);

/* The request to t: head and body into out (a buf whose max is the cap).
 * -1 when a header holds CR, LF or no ':' (a "Name;" is Name with an empty
 * value), or out's cap is passed. */
int http_request_build(struct buf *out, const struct http_target *t, const struct http_request *req,
		       const char *user_agent);

/* A proxy setting "http://[user:password@]host[:port][/]" (port 1080 by
 * default): its target into t, and with credentials the Proxy-Authorization
 * value "Basic <base64 of the %XX-decoded user:password>" into auth (a buf
 * that gets wiped by the caller). 0, or -1 when malformed. */
int http_proxy_parse(const char *proxy, struct http_target *t, struct buf *auth);

/* "CONNECT host:port" for a proxy tunnel to dst; proxy_auth, when not
 * NULL, is the Proxy-Authorization value ("Basic ..."). */
int http_connect_build(struct buf *out, const struct http_target *dst, const char *proxy_auth);

struct http_reader {
	http_parser parser;
	struct http_response *resp;
	bool head_only;	   /* the answer has no body (a CONNECT answer) */
	bool started;	   /* a byte arrived */
	size_t prefix_len; /* of "HTTP/", checked so far */
	bool final;	   /* past the head of the final answer (not a 1xx) */
	bool done;
	enum http_result error; /* once feed returned -1 */
	const char *why;	/* a fixed text, never bytes of the server's */
	size_t head_bytes;
	char name[24]; /* the header name being read, lower case */
	size_t name_len;
	bool name_long;
	bool in_value;
	int slot; /* the kept header whose value is being read, or -1 */
	struct buf value;
};

void http_reader_init(struct http_reader *r, struct http_response *resp, bool head_only);

/* Feed received bytes; n == 0 says the peer closed. 1: the answer is
 * complete (whatever follows it is ignored); 0: more is needed; -1: the
 * answer is broken, too big or cut short (r->error, r->why). */
int http_reader_feed(struct http_reader *r, const char *data, size_t n);

/* Wipe what the reader holds; the response is the caller's. */
void http_reader_free(struct http_reader *r);

#endif
