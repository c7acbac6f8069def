/* The uids that never move: state_dir's "sync-ids" keeps one line
 * "<clerk user id> <uid>" per Clerk user ever synced. A line is never
 * removed, so a user removed and added again gets its uid back, and a
 * new user never gets a removed one's. */
#include "config.h"

#include "buf.h"
#include "state.h"
#include "sync.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IDS_FILE "sync-ids"
#define IDS_MAX	 (64L * 1024 * 1024)

static int mark(struct sync_ids *m, uid_t uid)
{
	if (uid < m->min || uid > m->max)
		return -1;
	m->used[(uid - m->min) / 8] |= (unsigned char)(1u << ((uid - m->min) % 8));
	return 0;
}

static bool is_used(const struct sync_ids *m, uid_t uid)
{
	return ((unsigned)m->used[(uid - m->min) / 8] >> ((uid - m->min) % 8)) & 1u;
}

static const char *id_at(const void *ctx, size_t pos)
{
	return ((const struct sync_ids *)ctx)->id[pos];
}

static int put(struct sync_ids *m, const char *id, uid_t uid)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		char(*ids)[64] = realloc(m->id, cap * sizeof *ids);
		if (ids == NULL)
			return -1;
		m->id = ids;
		uid_t *uids = realloc(m->uid, cap * sizeof *uids);
		if (uids == NULL)
			return -1;
		m->uid = uids;
		m->cap = cap;
	}
	snprintf(m->id[m->n], sizeof m->id[0], "%s", id);
	m->uid[m->n] = uid;
	m->by_id.key = id_at;
	m->by_id.ctx = m;
	return sync_index_add(&m->by_id, m->n++);
}

int sync_ids_load(struct sync_ids *m, int dirfd, uid_t min, uid_t max, char *err, size_t errsize)
{
	memset(m, 0, sizeof *m);
	m->min = min;
	m->max = max;
	m->used = calloc((size_t)(max - min) / 8 + 1, 1);
	if (m->used == NULL) {
		snprintf(err, errsize, "out of memory");
		return -1;
	}
	struct buf b;
	buf_init(&b, (size_t)IDS_MAX);
	err[0] = '\0';
	int rc = state_file_read(dirfd, IDS_FILE, &b, NULL, err, errsize);
	if (rc != 0 || b.data == NULL) {
		buf_wipe(&b);
		return rc == -1 ? -1 : 0; /* missing or empty: the first sync */
	}
	bool bad = false;
	for (char *line = b.data, *next; !bad && line != NULL && *line; line = next) {
		next = strchr(line, '\n');
		char id[64], extra;
		unsigned long uid;
		if (next != NULL)
			*next++ = '\0';
		bad = next == NULL || sscanf(line, "%63s %lu %c", id, &uid, &extra) != 2 ||
		      uid > (uid_t)-2 || put(m, id, (uid_t)uid) != 0;
		if (!bad)
			(void)mark(m, (uid_t)uid); /* outside today's range: kept, not given */
	}
	buf_wipe(&b);
	if (bad)
		snprintf(err, errsize, "state_dir/%s: a line that is not '<id> <uid>'", IDS_FILE);
	return bad ? -1 : 0;
}

int sync_ids_get(struct sync_ids *m, const char *clerk_id, int (*taken)(uid_t), uid_t *out)
{
	size_t i = sync_index_find(&m->by_id, clerk_id);
	if (i != (size_t)-1) {
		*out = m->uid[i];
		return 0;
	}
	for (uid_t u = m->min; u <= m->max && u >= m->min; u++) {
		if (is_used(m, u) || taken(u))
			continue;
		if (put(m, clerk_id, u) != 0)
			return -1;
		(void)mark(m, u);
		m->dirty = true;
		*out = u;
		return 0;
	}
	return -1;
}

int sync_ids_save(struct sync_ids *m, int dirfd, char *err, size_t errsize)
{
	if (!m->dirty)
		return 0;
	struct buf b;
	buf_init(&b, (size_t)IDS_MAX);
	char line[100];
	int rc = 0;
	for (size_t i = 0; i < m->n && rc == 0; i++) {
		snprintf(line, sizeof line, "%s %lu\n", m->id[i], (unsigned long)m->uid[i]);
		rc = buf_append_str(&b, line);
	}
	if (rc == 0)
		rc = state_file_write(dirfd, IDS_FILE, b.data ? b.data : "", b.len);
	if (rc != 0)
		snprintf(err, errsize, "state_dir/%s: cannot write: %s", IDS_FILE, strerror(errno));
	buf_wipe(&b);
	return rc;
}

void sync_ids_free(struct sync_ids *m)
{
	free(m->id);
	free(m->uid);
	free(m->used);
	sync_index_free(&m->by_id);
	memset(m, 0, sizeof *m);
}
