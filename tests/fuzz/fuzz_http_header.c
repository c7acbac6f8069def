/* The response-header callback of src/http.c (static there, so that file
 * is compiled into this target): the input is a header block as libcurl
 * hands it over, one line per call, 1xx blocks and all. Differential
 * against a reference reading of the last block: the same Authorization
 * (the client token), Retry-After, X-Clerk-Trace-Id and Clerk-Db-Jwt,
 * trimmed, capped, and wiped and released on free. The first byte says
 * whether a status line comes first. */
#include "http.c"

#include "fuzz.h"

#include <strings.h>

static const char *const names[] = { "authorization", "retry-after", "x-clerk-trace-id",
				     "clerk-db-jwt" };
#define NNAMES (sizeof names / sizeof names[0])

static char **slot_of(struct http_response *r, size_t i)
{
	return i == 0 ? &r->authorization
	       : i == 1 ? &r->retry_after
	       : i == 2 ? &r->trace_id
			: &r->db_jwt;
}

struct ref {
	const char *v[NNAMES]; /* into the input */
	size_t n[NNAMES];
	int stopped; /* the callback refused a line */
};

/* What the callback should have kept from one line. */
static void ref_line(struct ref *ref, const char *line, size_t n)
{
	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		memset(ref->v, 0, sizeof ref->v);
		return;
	}
	const char *colon = memchr(line, ':', n);
	if (colon == NULL)
		return;
	size_t name_len = (size_t)(colon - line);
	for (size_t i = 0; i < NNAMES; i++) {
		if (strlen(names[i]) != name_len || strncasecmp(line, names[i], name_len) != 0)
			continue;
		const char *v = colon + 1, *end = line + n;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && strchr("\r\n \t", end[-1]) != NULL && end[-1] != '\0')
			end--;
		if ((size_t)(end - v) > HEADER_VALUE_MAX) {
			ref->stopped = 1;
			return;
		}
		ref->v[i] = v;
		ref->n[i] = (size_t)(end - v);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 256 * 1024)
		return 0;
	int status_line = data[0] & 1;
	char *text = fuzz_copy(data + 1, size - 1);
	size_t len = size - 1;
	struct http_response resp;
	struct ref ref;
	memset(&resp, 0, sizeof resp);
	memset(&ref, 0, sizeof ref);
	buf_init(&resp.body, HTTP_BODY_MAX);
	size_t fed = 0;

	if (status_line) {
		char first[] = "HTTP/1.1 200 OK\r\n";
		FUZZ_CHECK(on_header(first, 1, sizeof first - 1, &resp) == sizeof first - 1);
		fed += sizeof first - 1;
	}
	/* One call per line, its end included, as libcurl does. */
	for (size_t i = 0; i < len && !ref.stopped;) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl != NULL ? (size_t)(nl - (text + i)) + 1 : len - i;
		char *line = fuzz_copy((const uint8_t *)text + i, n);
		size_t got = on_header(line, 1, n, &resp);
		fed += n;
		if (fed > HEADERS_MAX) {
			FUZZ_CHECK(got == 0 && resp.too_big);
			ref.stopped = 1;
		} else {
			ref_line(&ref, text + i, n); /* the same bytes, kept till the end */
			if (ref.stopped)
				FUZZ_CHECK(got == 0 && resp.too_big);
			else
				FUZZ_CHECK(got == n);
		}
		free(line);
		i += n;
	}
	FUZZ_CHECK(resp.header_bytes == fed);
	if (!ref.stopped) {
		FUZZ_CHECK(!resp.too_big);
		for (size_t i = 0; i < NNAMES; i++) {
			const char *got = *slot_of(&resp, i);
			if (ref.v[i] == NULL) {
				FUZZ_CHECK(got == NULL);
				continue;
			}
			FUZZ_CHECK(got != NULL);
			/* A NUL inside the value ends the C string early; the rest
			 * must match. */
			size_t glen = strlen(got);
			FUZZ_CHECK(glen <= ref.n[i] && memcmp(got, ref.v[i], glen) == 0);
			FUZZ_CHECK(glen == ref.n[i] || memchr(ref.v[i], '\0', ref.n[i]) != NULL);
			FUZZ_CHECK(glen <= HEADER_VALUE_MAX);
			FUZZ_CHECK(strchr(got, '\n') == NULL);
			FUZZ_CHECK(glen == 0 || (got[0] != ' ' && got[0] != '\t'));
		}
	}
	/* The body callback: everything up to the cap, then a refusal. */
	size_t got = on_body(text, 1, len, &resp);
	FUZZ_CHECK(got == len && resp.body.len == len);
	http_response_free(&resp);
	for (size_t i = 0; i < NNAMES; i++)
		FUZZ_CHECK(*slot_of(&resp, i) == NULL);
	FUZZ_CHECK(resp.body.data == NULL && resp.status == 0);
	free(text);
	return 0;
}
