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

static int fetch(const struct jwks_source *src, struct buf *out, int *fetched, char *err,
		 size_t errsize)
{
	char url[512];
	struct http_response resp;
	const char *headers[] = { NULL };
	snprintf(url, sizeof url, "%s/.well-known/jwks.json", src->fapi_url);
	struct http_request req = { NULL, url, headers, NULL, 0, src->timeout_ms };
	(*fetched)++;
	enum http_result h = http_perform(src->conn, &req, &resp, err, errsize);
	int rc = h;
	if (h == HTTP_OK && resp.status != 200) {
		snprintf(err, errsize, "JWKS answered HTTP %ld", resp.status);
		rc = HTTP_ERR_PROTOCOL;
	} else if (h == HTTP_OK &&
		   buf_append(out, resp.body.data ? resp.body.data : "", resp.body.len) != 0) {
		rc = HTTP_ERR_TOO_BIG;
	}
	http_response_free(&resp);
	return rc;
}

int jwks_load(const struct jwks_source *src, bool refresh, struct jwt_keys *keys, int *fetched,
	      char *err, size_t errsize)
{
	struct buf doc;
	char why[200] = "";
	int rc = 0;
	if (src->pinned != NULL)
		return jwt_keys_from_pem(keys, src->pinned, err, errsize);
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
	rc = fetch(src, &doc, fetched, err, errsize);
	if (rc == 0 && jwt_keys_from_jwks(keys, buf_str(&doc), doc.len, err, errsize) != 0)
		rc = -1;
	if (rc == 0 && dirfd >= 0)
		state_file_write(dirfd, JWKS_FILE, doc.data, doc.len);
out:
	if (dirfd >= 0)
		close(dirfd);
	buf_wipe(&doc);
	return rc;
}

int jwks_verify(const struct jwks_source *src, const char *jwt, const char *sid, const char *sub,
		struct jwt_claims *claims, int *requests, char *err, size_t errsize)
{
	struct jwt_keys keys;
	for (int attempt = 0; attempt < 2; attempt++) {
		int before = *requests;
		int rc = jwks_load(src, attempt > 0, &keys, requests, err, errsize);
		if (rc != 0)
			return rc > 0 ? rc : -1;
		bool just_fetched = *requests > before;
		enum jwt_result v = jwt_verify(jwt, &keys, src->fapi_url, sid, sub, time(NULL),
					       claims, err, errsize);
		jwt_keys_free(&keys);
		if (v == JWT_OK)
			return 0;
		/* An unknown kid may be a rotated key: fetch once more, never loop. */
		if (v != JWT_UNKNOWN_KID || src->pinned != NULL || just_fetched)
			return -1;
	}
	return -1;
}
