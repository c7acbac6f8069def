/* Reading every user (and the organization's members) from the Backend
 * API, page by page, waiting out a 429 as Retry-After says. */
#include "config.h"

#include "buf.h"
#include "json_strict.h"
#include "outcome.h"
#include "sync.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE	   500	  /* the Backend API's largest limit */
#define MAX_WAITS  20	  /* 429s waited out in one sync */
#define MAX_WAIT_S 60L	  /* the longest one wait */
#define MAX_PAGES  10000L /* 5,000,000 users: a bound, not a limit met */

static void sleep_s(long s)
{
	struct timespec ts = { s, 0 };
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* GET url with the secret key: the parsed 200 body, or NULL with err. */
static struct json_object *get(const char *url, struct http_conn *conn, long timeout_ms,
			       const char *key, struct sync_list *l, char *err, size_t errsize)
{
	for (;;) {
		struct buf auth;
		struct http_response resp;
		memset(&resp, 0, sizeof resp);
		buf_init(&auth, 600);
		buf_append_str(&auth, "Authorization: Bearer ");
		buf_append_str(&auth, key);
		const char *headers[] = { buf_str(&auth), NULL };
		struct http_request req = { NULL, url, headers, NULL, 0, timeout_ms };
		enum http_result h = http_perform(conn, &req, &resp, err, errsize);
		buf_wipe(&auth);
		l->requests++;
		struct json_object *root = NULL;
		long wait = -1;
		if (outcome_from_transport(h) != OUTCOME_SUCCESS) {
			/* err says why */
		} else if (resp.status == 429 && l->waits < MAX_WAITS) {
			wait = resp.retry_after ? strtol(resp.retry_after, NULL, 10) : 1;
			wait = wait < 1 ? 1 : wait > MAX_WAIT_S ? MAX_WAIT_S : wait;
		} else if (resp.status != 200) {
			snprintf(err, errsize, "the Backend API answered HTTP %ld", resp.status);
		} else {
			char why[80];
			root = json_parse_strict(buf_str(&resp.body), resp.body.len, json_type_null,
						 why, sizeof why);
			if (root == NULL)
				snprintf(err, errsize, "the Backend API's answer is not JSON: %s",
					 why);
		}
		http_response_free(&resp);
		if (wait < 0)
			return root;
		l->waits++;
		sleep_s(wait);
	}
}

static int copy(char *dst, size_t size, const char *src)
{
	if (src == NULL)
		src = "";
	if (strlen(src) >= size)
		return -1;
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* The primary email address of a Backend API User. */
static const char *primary_email(struct json_object *u)
{
	const char *pid = json_str(u, "primary_email_address_id");
	struct json_object *a;
	if (!json_object_object_get_ex(u, "email_addresses", &a) ||
	    !json_object_is_type(a, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *e = json_object_array_get_idx(a, i);
		const char *id = json_str(e, "id");
		if (pid == NULL || (id != NULL && strcmp(id, pid) == 0))
			return json_str(e, "email_address");
	}
	return NULL;
}

/* Names in passwd's comment field: no ':', ',', control characters. */
static void gecos(char *out, size_t size, const char *first, const char *last)
{
	snprintf(out, size, "%s%s%s", first ? first : "", first && last ? " " : "",
		 last ? last : "");
	for (char *p = out; *p; p++)
		if (*p == ':' || *p == ',' || (unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static int add_user(struct sync_list *l, struct json_object *u, char *err, size_t errsize)
{
	const char *id = json_str(u, "id");
	if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof l->v[0].id) {
		snprintf(err, errsize, "a user without a usable id");
		return -1;
	}
	if (json_flag(u, "banned") || json_flag(u, "locked"))
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct sync_user *v = realloc(l->v, cap * sizeof *v);
		if (v == NULL) {
			snprintf(err, errsize, "out of memory");
			return -1;
		}
		l->v = v;
		l->cap = cap;
	}
	struct sync_user *s = &l->v[l->n];
	memset(s, 0, sizeof *s);
	snprintf(s->id, sizeof s->id, "%s", id);
	/* Too long a username or address: no name from it (skipped later). */
	(void)copy(s->username, sizeof s->username, json_str(u, "username"));
	(void)copy(s->email, sizeof s->email, primary_email(u));
	gecos(s->gecos, sizeof s->gecos, json_str(u, "first_name"), json_str(u, "last_name"));
	l->n++;
	return 0;
}

static const char *id_at(const void *ctx, size_t pos)
{
	return ((const struct sync_list *)ctx)->v[pos].id;
}

static struct sync_user *find(struct sync_list *l, const char *id)
{
	size_t i = sync_index_find(&l->by_id, id);
	return i == (size_t)-1 ? NULL : &l->v[i];
}

/* Each page's array: the users list is one, memberships are under data. */
static struct json_object *page_items(struct json_object *root, bool members)
{
	struct json_object *d = root;
	if (members && !json_object_object_get_ex(root, "data", &d))
		return NULL;
	return json_object_is_type(d, json_type_array) ? d : NULL;
}

static int read_pages(const char *base, const char *path, struct http_conn *conn, long tmo,
		      const char *key, struct sync_list *l, bool members, char *err, size_t errsize)
{
	char url[1024];
	for (long off = 0, p = 0; p < MAX_PAGES; p++, off += PAGE) {
		snprintf(url, sizeof url, "%s%s?limit=%d&offset=%ld%s", base, path, PAGE, off,
			 members ? "" : "&order_by=%2Bcreated_at");
		struct json_object *root = get(url, conn, tmo, key, l, err, errsize);
		if (root == NULL)
			return -1;
		struct json_object *items = page_items(root, members);
		size_t n = items ? json_object_array_length(items) : 0;
		int rc = items ? 0 : -1;
		if (items == NULL)
			snprintf(err, errsize, "the Backend API's page is not a list");
		for (size_t i = 0; i < n && rc == 0; i++) {
			struct json_object *it = json_object_array_get_idx(items, i), *pud;
			if (!members) {
				rc = add_user(l, it, err, errsize);
				continue;
			}
			const char *role = json_str(it, "role");
			const char *uid = json_object_object_get_ex(it, "public_user_data", &pud)
						  ? json_str(pud, "user_id")
						  : NULL;
			struct sync_user *s = uid ? find(l, uid) : NULL;
			if (s != NULL) {
				s->member = true;
				(void)copy(s->role, sizeof s->role,
					   role && strncmp(role, "org:", 4) == 0 ? role + 4 : role);
			}
		}
		json_object_put(root);
		if (rc != 0 || n < PAGE)
			return rc;
	}
	snprintf(err, errsize, "more than %ld pages", MAX_PAGES);
	return -1;
}

int sync_fetch(const char *base_url, struct http_conn *conn, long timeout_ms,
	       const char *secret_key, const char *org, struct sync_list *out, char *err,
	       size_t errsize)
{
	memset(out, 0, sizeof *out);
	if (read_pages(base_url, "/v1/users", conn, timeout_ms, secret_key, out, false, err,
		       errsize) != 0)
		return -1;
	if (org == NULL)
		return 0;
	char path[300];
	if (strspn(org, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
		    strlen(org) ||
	    strlen(org) > 200) {
		snprintf(err, errsize, "organization is not an id or slug");
		return -1;
	}
	snprintf(path, sizeof path, "/v1/organizations/%s/memberships", org);
	out->by_id.key = id_at;
	out->by_id.ctx = out;
	for (size_t i = 0; i < out->n; i++)
		if (sync_index_add(&out->by_id, i) != 0) {
			snprintf(err, errsize, "out of memory");
			return -1;
		}
	if (read_pages(base_url, path, conn, timeout_ms, secret_key, out, true, err, errsize) != 0)
		return -1;
	size_t k = 0; /* members only */
	for (size_t i = 0; i < out->n; i++)
		if (out->v[i].member)
			out->v[k++] = out->v[i];
	out->n = k;
	return 0;
}

void sync_list_free(struct sync_list *l)
{
	free(l->v);
	sync_index_free(&l->by_id);
	memset(l, 0, sizeof *l);
}
