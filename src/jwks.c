#include "config.h"

#include "jwks.h"

#include "buf.h"
#include "state.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define JWKS_MAX  (256 * 1024)
#define JWKS_FILE "jwks.json"

static enum outcome fetch(const struct jwks_source *src, struct buf *out, int *fetched, char *err,
			  size_t errsize)
{
	char url[512];
	struct http_response resp;
	const char *headers[] = { NULL };
	long left = budget_left_ms(src->budget);
	snprintf(url, sizeof url, "%s/.well-known/jwks.json", src->fapi_url);
	/* A used-up budget still makes the request, which then times out at once. */
	struct http_request req = { NULL, url, headers, NULL, 0, left > 0 ? left : 1 };
	(*fetched)++;
	enum outcome o = outcome_from_transport(http_perform(src->conn, &req, &resp, err, errsize));
	if (o == OUTCOME_SUCCESS && resp.status != 200) {
		snprintf(err, errsize, "JWKS answered HTTP %ld", resp.status);
		o = OUTCOME_BAD_RESPONSE;
	} else if (o == OUTCOME_SUCCESS &&
		   buf_append(out, resp.body.data ? resp.body.data : "", resp.body.len) != 0) {
		snprintf(err, errsize, "JWKS larger than %d bytes", JWKS_MAX);
		o = OUTCOME_BAD_RESPONSE;
	}
	http_response_free(&resp);
	return o;
}

/* Load keys: cached unless refresh (or expired/missing), else fetched. */
static enum outcome load_keys(const struct jwks_source *src, bool refresh, struct jwt_keys *keys,
			      int *fetched, char *err, size_t errsize)
{
	struct buf doc;
	char why[200] = "";
	enum outcome o = OUTCOME_SUCCESS;
	if (src->pinned != NULL)
		return jwt_keys_from_pem(keys, src->pinned, err, errsize) == 0
			       ? OUTCOME_SUCCESS
			       : OUTCOME_CONFIG_ERROR;
	buf_init(&doc, JWKS_MAX);
	int dirfd = src->state_dir ? state_dir_open(src->state_dir, why, sizeof why) : -1;
	time_t mtime = 0;
	/* A cached copy is used while fresh and parseable; anything else refetches.
	 * (A file's mtime may run a tick ahead of time(): a little is allowed.) */
	if (!refresh && dirfd >= 0 &&
	    state_file_read(dirfd, JWKS_FILE, &doc, &mtime, why, sizeof why) == 0 &&
	    time(NULL) - mtime > -5 && time(NULL) - mtime < JWKS_TTL &&
	    jwt_keys_from_jwks(keys, buf_str(&doc), doc.len, why, sizeof why) == 0)
		goto out;
	buf_wipe(&doc);
	o = fetch(src, &doc, fetched, err, errsize);
	if (o == OUTCOME_SUCCESS &&
	    jwt_keys_from_jwks(keys, buf_str(&doc), doc.len, err, errsize) != 0)
		o = OUTCOME_BAD_RESPONSE; /* not a JWKS: Clerk's fault or a proxy's */
	if (o == OUTCOME_SUCCESS && dirfd >= 0)
		state_file_write(dirfd, JWKS_FILE, doc.data, doc.len);
out:
	if (dirfd >= 0)
		close(dirfd);
	buf_wipe(&doc);
	return o;
}

enum outcome jwks_verify(const struct jwks_source *src, const char *jwt, const char *sid,
			 const char *sub, time_t now, struct jwt_claims *claims, int *requests,
			 char *err, size_t errsize)
{
	struct jwt_keys keys;
	for (int attempt = 0; attempt < 2; attempt++) {
		int before = *requests;
		enum outcome o = load_keys(src, attempt > 0, &keys, requests, err, errsize);
		if (o != OUTCOME_SUCCESS)
			return o;
		bool just_fetched = *requests > before;
		enum jwt_result v =
			jwt_verify(jwt, &keys, src->issuer ? src->issuer : src->fapi_url, sid, sub,
				   now, claims, err, errsize);
		jwt_keys_free(&keys);
		if (v == JWT_OK)
			return OUTCOME_SUCCESS;
		/* An unknown kid may be a rotated key: fetch once more, never loop. */
		if (v != JWT_UNKNOWN_KID || src->pinned != NULL || just_fetched)
			return OUTCOME_JWT_INVALID;
	}
	return OUTCOME_JWT_INVALID;
}
