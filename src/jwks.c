#include "config.h"

#include "jwks.h"

#include "buf.h"
#include "state.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
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

/* --- the process's copy ------------------------------------------------------
 * A host that keeps the module loaded (a web or mail server, polkit, a
 * display manager) verifies from memory; state_dir's copy serves the hosts
 * that start afresh for each login, and a non-root host that cannot use it.
 * One copy per Frontend API URL, a few at most; the lock is held only to
 * copy bytes. A child forked while another thread held it gets a new lock. */
#define MEM_SLOTS 4

static struct mem_copy {
	char url[300];
	char *doc;
	size_t len;
	time_t at;
} mem[MEM_SLOTS];
static pthread_mutex_t mem_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t mem_once = PTHREAD_ONCE_INIT;

static void mem_before_fork(void)
{
	pthread_mutex_lock(&mem_lock);
}

static void mem_after_fork(void)
{
	pthread_mutex_unlock(&mem_lock);
}

static void mem_init(void)
{
	pthread_atfork(mem_before_fork, mem_after_fork, mem_after_fork);
}

static struct mem_copy *mem_slot(const char *url, bool take)
{
	struct mem_copy *oldest = &mem[0];
	for (size_t i = 0; i < MEM_SLOTS; i++) {
		if (strcmp(mem[i].url, url) == 0)
			return &mem[i];
		if (mem[i].at < oldest->at)
			oldest = &mem[i];
	}
	return take ? oldest : NULL;
}

/* The process's copy when fresh: 0 with the document in out, else -1. */
static int mem_get(const char *url, struct buf *out, time_t now)
{
	int rc = -1;
	pthread_once(&mem_once, mem_init);
	pthread_mutex_lock(&mem_lock);
	struct mem_copy *m = mem_slot(url, false);
	if (m != NULL && m->doc != NULL && now - m->at > -5 && now - m->at < JWKS_TTL)
		rc = buf_append(out, m->doc, m->len);
	pthread_mutex_unlock(&mem_lock);
	return rc;
}

static void mem_put(const char *url, const char *doc, size_t len, time_t at)
{
	char *copy = malloc(len + 1);
	if (copy == NULL || strlen(url) >= sizeof mem[0].url) {
		free(copy);
		return;
	}
	memcpy(copy, doc, len);
	copy[len] = '\0';
	pthread_once(&mem_once, mem_init);
	pthread_mutex_lock(&mem_lock);
	struct mem_copy *m = mem_slot(url, true);
	free(m->doc);
	snprintf(m->url, sizeof m->url, "%s", url);
	m->doc = copy;
	m->len = len;
	m->at = at;
	pthread_mutex_unlock(&mem_lock);
}

void jwks_cache_clear(void)
{
	pthread_once(&mem_once, mem_init);
	pthread_mutex_lock(&mem_lock);
	for (size_t i = 0; i < MEM_SLOTS; i++) {
		free(mem[i].doc);
		memset(&mem[i], 0, sizeof mem[i]);
	}
	pthread_mutex_unlock(&mem_lock);
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
	if (!refresh && mem_get(src->fapi_url, &doc, time(NULL)) == 0 &&
	    jwt_keys_from_jwks(keys, buf_str(&doc), doc.len, why, sizeof why) == 0) {
		buf_wipe(&doc);
		return OUTCOME_SUCCESS;
	}
	buf_wipe(&doc);
	int dirfd = src->state_dir ? state_dir_open(src->state_dir, why, sizeof why) : -1;
	time_t mtime = 0;
	/* A cached copy is used while fresh and parseable; anything else refetches.
	 * (A file's mtime may run a tick ahead of time(): a little is allowed.) */
	if (!refresh && dirfd >= 0 &&
	    state_file_read(dirfd, JWKS_FILE, &doc, &mtime, why, sizeof why) == 0 &&
	    time(NULL) - mtime > -5 && time(NULL) - mtime < JWKS_TTL &&
	    jwt_keys_from_jwks(keys, buf_str(&doc), doc.len, why, sizeof why) == 0) {
		mem_put(src->fapi_url, doc.data, doc.len, mtime);
		goto out;
	}
	buf_wipe(&doc);
	o = fetch(src, &doc, fetched, err, errsize);
	if (o == OUTCOME_SUCCESS &&
	    jwt_keys_from_jwks(keys, buf_str(&doc), doc.len, err, errsize) != 0)
		o = OUTCOME_BAD_RESPONSE; /* not a JWKS: Clerk's fault or a proxy's */
	if (o == OUTCOME_SUCCESS)
		mem_put(src->fapi_url, doc.data, doc.len, time(NULL));
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
