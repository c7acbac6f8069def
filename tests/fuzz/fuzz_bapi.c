/* The Backend API lookup of the account stage (src/bapi.c, bapi_lookup)
 * against a fake transport answering from the fuzz input: the users search,
 * then the organization memberships. Byte 0 picks the identifier and
 * whether an organization is asked about; then answers as in fuzz_clerk:
 * status byte (>= 0xf0: a transport failure), a big-endian 16-bit body
 * length, the body. Past the end of the input every request is refused.
 *
 * Promises checked: at most two requests, each to the Backend API's own
 * URL with only printable ASCII and no dot segment in its path (the user
 * id from the first answer goes into the second URL), the secret key sent
 * in exactly one clean Authorization header; a found user has an id that
 * is safe in a URL path; membership only when an organization was asked
 * about and only with FOUND; every field ends inside its array. */
#include "config.h"

#include "fuzz.h"

#include "bapi.h"
#include "buf.h"
#include "http.h"

#define BASE   "https://api.clerk.example.com"
#define SECRET "sk_test_0123456789abcdef"

static const long statuses[] = { 200, 200, 200, 404, 401, 403, 429, 500, 503, 302, 400, 422, 0 };
#define NSTATUSES (sizeof statuses / sizeof statuses[0])

static struct {
	const uint8_t *p, *end;
	int requests;
} F;

int http_global_init(void)
{
	return 0;
}

static void check_path_segments(const char *path, size_t n)
{
	/* No "." or ".." segment: a server or proxy may resolve them to another path. */
	size_t i = 0;
	while (i < n) {
		size_t j = i;
		while (j < n && path[j] != '/')
			j++;
		size_t len = j - i;
		FUZZ_CHECK(!(len == 1 && path[i] == '.'));
		FUZZ_CHECK(!(len == 2 && path[i] == '.' && path[i + 1] == '.'));
		i = j + 1;
	}
}

static enum http_result fake_perform(struct http_conn *self, const struct http_request *req,
				     struct http_response *resp, char *err, size_t errsize)
{
	(void)self;
	memset(resp, 0, sizeof *resp);
	buf_init(&resp->body, HTTP_BODY_MAX);
	if (err != NULL && errsize > 0)
		err[0] = '\0';
	F.requests++;
	FUZZ_CHECK(F.requests <= 2);
	FUZZ_CHECK(req->body == NULL);
	FUZZ_CHECK(strncmp(req->url, BASE "/v1/users", sizeof BASE + 8) == 0);
	for (const char *p = req->url; *p; p++)
		FUZZ_CHECK(*p > 0x20 && *p < 0x7f && *p != '#' && *p != '\\');
	const char *path = req->url + sizeof BASE - 1;
	check_path_segments(path, strcspn(path, "?"));
	int auth = 0;
	for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
		for (const char *p = *h; *p; p++)
			FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
		if (strncmp(*h, "Authorization:", 14) == 0) {
			FUZZ_CHECK(strcmp(*h, "Authorization: Bearer " SECRET) == 0);
			auth++;
		}
	}
	FUZZ_CHECK(auth == 1);

	if (F.p >= F.end) {
		snprintf(err, errsize, "fake: refused");
		return HTTP_ERR_CONNECT;
	}
	uint8_t s = *F.p++;
	if (s >= 0xf0) {
		static const enum http_result fails[] = { HTTP_ERR_CONNECT,  HTTP_ERR_TIMEOUT,
							  HTTP_ERR_TLS,	     HTTP_ERR_TOO_BIG,
							  HTTP_ERR_PROTOCOL, HTTP_ERR_INTERNAL };
		snprintf(err, errsize, "fake failure");
		return fails[(s - 0xf0) % 6];
	}
	resp->status = s < NSTATUSES ? statuses[s] : (long)s * 3;
	size_t want = 0;
	if (F.end - F.p >= 2) {
		want = (size_t)F.p[0] << 8 | F.p[1];
		F.p += 2;
	}
	size_t left = (size_t)(F.end - F.p);
	size_t n = want < left ? want : left;
	FUZZ_CHECK(buf_append(&resp->body, F.p, n) == 0);
	F.p += n;
	return HTTP_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const identifiers[] = { "alice@example.com", "+15551234567", "alice",
						   "we ird&id=%00" };
	static const char *const orgs[] = { "org_abc123", "team-slug" };
	if (size < 1 || size > 256 * 1024)
		return 0;
	memset(&F, 0, sizeof F);
	F.p = data + 1;
	F.end = data + size;
	const char *identifier = identifiers[(data[0] >> 2) & 3];
	const char *org = (data[0] & 1) ? orgs[(data[0] >> 1) & 1] : NULL;
	struct http_conn conn = { fake_perform, NULL };
	struct bapi_user u;
	char err[200];
	err[0] = '\0';
	memset(&u, 'x', sizeof u);
	enum bapi_result r =
		bapi_lookup(BASE, &conn, 5000, SECRET, identifier, org, &u, err, sizeof err);
	FUZZ_CHECK(r == BAPI_FOUND || r == BAPI_NOT_FOUND || r == BAPI_UNAVAILABLE ||
		   r == BAPI_REFUSED || r == BAPI_BAD);
	FUZZ_CHECK(F.requests >= 1 && F.requests <= (org != NULL ? 2 : 1));
	FUZZ_TERMINATED(u.id);
	FUZZ_TERMINATED(u.org_role);
	FUZZ_TERMINATED(err);
	FUZZ_CHECK((u.banned == 0 || u.banned == 1) && (u.locked == 0 || u.locked == 1));
	FUZZ_CHECK(u.in_org == 0 || (u.in_org == 1 && org != NULL && r == BAPI_FOUND));
	if (r == BAPI_FOUND) {
		/* The id goes into a URL path: printable, no separators, no dots alone. */
		FUZZ_CHECK(u.id[0] != '\0');
		FUZZ_CHECK(strcmp(u.id, ".") != 0 && strcmp(u.id, "..") != 0);
		for (const char *p = u.id; *p; p++)
			FUZZ_CHECK(*p > 0x20 && *p < 0x7f && strchr("/?#%&\\", *p) == NULL);
	} else {
		FUZZ_CHECK(u.in_org == 0 && u.org_role[0] == '\0');
	}
	return 0;
}
