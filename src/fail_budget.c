#include "config.h"

#include "fail_budget.h"

#include "buf.h"
#include "record_file.h"
#include "state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECORD "failures"
#define MAGIC  "pam_clerk failures v1\n"
/* "i <64 hex> <count> <first> <last> <until>\n" with 15-digit numbers. */
#define LINE_MAX_LEN 140
#define LIMIT_MAX    1000

enum entry_type { ENTRY_IDENTIFIER = 'i', ENTRY_RHOST = 'r' };

struct entry {
	char type;
	char key[65];
	long long count, first, last, until; /* until: refused before then; 0: not */
};

struct record {
	struct entry *e;
	int n, cap;
};

static int valid_policy(const struct fail_policy *p)
{
	return p->limit >= 1 && p->limit <= LIMIT_MAX && p->window >= 1 &&
	       p->window <= FAIL_MAX_PERIOD && p->lock >= 1 && p->lock <= FAIL_MAX_PERIOD &&
	       p->rhost_limit >= 0 && p->rhost_limit <= LIMIT_MAX && p->max_entries >= 1 &&
	       p->max_entries <= FAIL_MAX_ENTRIES;
}

static int parse_entry(const char **p, struct entry *e)
{
	const char *s = *p;
	if ((s[0] != ENTRY_IDENTIFIER && s[0] != ENTRY_RHOST) || s[1] != ' ')
		return -1;
	e->type = s[0];
	s += 2;
	for (int i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	if (s[64] != ' ')
		return -1;
	memcpy(e->key, s, 64);
	e->key[64] = '\0';
	s += 65;
	if (record_number(&s, ' ', &e->count) != 0 || record_number(&s, ' ', &e->first) != 0 ||
	    record_number(&s, ' ', &e->last) != 0 || record_number(&s, '\n', &e->until) != 0)
		return -1;
	if (e->count < 1 || e->count > LIMIT_MAX || e->last < e->first)
		return -1;
	*p = s;
	return 0;
}

static int parse(const char *text, size_t len, struct record *r)
{
	size_t magic = sizeof MAGIC - 1;
	r->n = 0;
	if (len == 0)
		return 0;
	if (len < magic || memcmp(text, MAGIC, magic) != 0 || strlen(text) != len)
		return -1;
	const char *p = text + magic;
	while (*p != '\0') {
		if (r->n == r->cap || parse_entry(&p, &r->e[r->n]) != 0)
			return -1;
		r->n++;
	}
	return 0;
}

/* An entry that no longer counts at now: its refusal is over, or (never
 * refused) its window has passed. A time from the future (the clock
 * stepped back) is brought back to now, so nothing lasts longer than
 * configured. */
static int expired(struct entry *e, const struct fail_policy *p, long long now)
{
	if (e->first > now)
		e->first = now;
	if (e->last > now)
		e->last = now;
	if (e->until > now + p->lock)
		e->until = now + p->lock;
	if (e->until != 0)
		return e->until <= now;
	return now - e->first >= p->window;
}

static void drop(struct record *r, int i)
{
	r->e[i] = r->e[r->n - 1];
	r->n--;
}

static void expire_all(struct record *r, const struct fail_policy *p, long long now)
{
	for (int i = r->n - 1; i >= 0; i--)
		if (expired(&r->e[i], p, now))
			drop(r, i);
}

static int find(const struct record *r, char type, const char *key)
{
	for (int i = 0; i < r->n; i++)
		if (r->e[i].type == type && strcmp(r->e[i].key, key) == 0)
			return i;
	return -1;
}

/* Make room for one more entry: the least recently failed entry that is not
 * refused goes first, then the least recently failed of all. */
static void make_room(struct record *r, int max_entries)
{
	while (r->n >= max_entries) {
		int victim = -1;
		for (int pass = 0; pass < 2 && victim < 0; pass++)
			for (int i = 0; i < r->n; i++)
				if ((pass == 1 || r->e[i].until == 0) &&
				    (victim < 0 || r->e[i].last < r->e[victim].last))
					victim = i;
		drop(r, victim);
	}
}

struct session {
	int dirfd, lockfd;
	struct record r;
};

/* Lock and read the record (room for max_entries + 2: the entries being
 * added). -1 with the reason in msg; a corrupt record starts empty and is
 * reported in msg. */
static int open_record(struct session *s, int dirfd, const struct fail_policy *p, char *msg,
		       size_t msgsize)
{
	struct buf b;
	s->dirfd = dirfd;
	s->r.cap = p->max_entries + 2;
	s->r.e = calloc((size_t)s->r.cap, sizeof *s->r.e);
	if (s->r.e == NULL) {
		snprintf(msg, msgsize, "%s: out of memory", RECORD);
		return -1;
	}
	buf_init(&b, (size_t)s->r.cap * LINE_MAX_LEN + sizeof MAGIC);
	s->lockfd = record_open(dirfd, RECORD, FAIL_BUDGET_LOCK_WAIT_MS, &b, msg, msgsize);
	if (s->lockfd >= 0 && parse(buf_str(&b), b.len, &s->r) != 0) {
		s->r.n = 0;
		record_remove(dirfd, RECORD);
		snprintf(msg, msgsize, "%s: corrupt; removed, starting afresh", RECORD);
	}
	buf_wipe(&b);
	if (s->lockfd < 0) {
		free(s->r.e);
		return -1;
	}
	return 0;
}

static int save_record(struct session *s)
{
	struct buf b;
	char line[LINE_MAX_LEN];
	int rc = 0;
	buf_init(&b, (size_t)s->r.cap * LINE_MAX_LEN + sizeof MAGIC);
	rc = buf_append_str(&b, MAGIC);
	for (int i = 0; i < s->r.n && rc == 0; i++) {
		const struct entry *e = &s->r.e[i];
		snprintf(line, sizeof line, "%c %s %lld %lld %lld %lld\n", e->type, e->key,
			 e->count, e->first, e->last, e->until);
		rc = buf_append_str(&b, line);
	}
	if (rc == 0)
		rc = record_save(s->dirfd, RECORD, b.data, b.len);
	buf_wipe(&b);
	return rc;
}

static void close_record(struct session *s)
{
	record_close(s->lockfd);
	free(s->r.e);
}

/* The keys of identifier and rhost ("" when there is none or it is not
 * counted). */
static int keys(const struct fail_policy *p, const char *identifier, const char *rhost,
		char id_key[65], char rhost_key[65])
{
	rhost_key[0] = '\0';
	if (identifier == NULL || state_name(identifier, id_key) != 0)
		return -1;
	if (p->rhost_limit > 0 && rhost != NULL && rhost[0] != '\0' &&
	    state_name(rhost, rhost_key) != 0)
		return -1;
	return 0;
}

/* The longer refusal of the two entries at now; 0 when neither refuses. */
static long long refused_for(const struct record *r, const char *id_key, const char *rhost_key,
			     long long now)
{
	long long left = 0;
	int i = find(r, ENTRY_IDENTIFIER, id_key);
	if (i >= 0 && r->e[i].until > now)
		left = r->e[i].until - now;
	i = rhost_key[0] != '\0' ? find(r, ENTRY_RHOST, rhost_key) : -1;
	if (i >= 0 && r->e[i].until > now && r->e[i].until - now > left)
		left = r->e[i].until - now;
	return left;
}

enum fail_verdict fail_budget_check(int dirfd, const struct fail_policy *p, const char *identifier,
				    const char *rhost, time_t now, long *retry_s, char *msg,
				    size_t msgsize)
{
	struct session s;
	char id_key[65], rhost_key[65];
	msg[0] = '\0';
	*retry_s = 0;
	if (!valid_policy(p) || keys(p, identifier, rhost, id_key, rhost_key) != 0) {
		snprintf(msg, msgsize, "failure budget: invalid policy or name");
		return FAIL_BUDGET_ERROR;
	}
	if (open_record(&s, dirfd, p, msg, msgsize) != 0)
		return FAIL_BUDGET_ERROR;
	expire_all(&s.r, p, (long long)now);
	long long left = refused_for(&s.r, id_key, rhost_key, (long long)now);
	close_record(&s);
	*retry_s = (long)left;
	return left > 0 ? FAIL_BUDGET_REFUSE : FAIL_BUDGET_ALLOW;
}

/* Count one failure in the entry of type/key; 1 when it reached limit now. */
static int count_failure(struct record *r, const struct fail_policy *p, char type, const char *key,
			 int limit, long long now)
{
	int i = find(r, type, key);
	if (i < 0) {
		make_room(r, p->max_entries);
		i = r->n++;
		memset(&r->e[i], 0, sizeof r->e[i]);
		r->e[i].type = type;
		memcpy(r->e[i].key, key, sizeof r->e[i].key);
		r->e[i].first = now;
	}
	struct entry *e = &r->e[i];
	if (e->count < LIMIT_MAX)
		e->count++;
	e->last = now;
	if (e->until == 0 && e->count >= limit) {
		e->until = now + p->lock;
		return 1;
	}
	return 0;
}

enum fail_verdict fail_budget_failure(int dirfd, const struct fail_policy *p,
				      const char *identifier, const char *rhost, time_t now,
				      long *retry_s, int *just_refused, char *msg, size_t msgsize)
{
	struct session s;
	char id_key[65], rhost_key[65];
	msg[0] = '\0';
	*retry_s = 0;
	*just_refused = 0;
	if (!valid_policy(p) || keys(p, identifier, rhost, id_key, rhost_key) != 0) {
		snprintf(msg, msgsize, "failure budget: invalid policy or name");
		return FAIL_BUDGET_ERROR;
	}
	if (open_record(&s, dirfd, p, msg, msgsize) != 0)
		return FAIL_BUDGET_ERROR;
	long long t = (long long)now;
	expire_all(&s.r, p, t);
	*just_refused = count_failure(&s.r, p, ENTRY_IDENTIFIER, id_key, p->limit, t);
	if (rhost_key[0] != '\0')
		*just_refused |= count_failure(&s.r, p, ENTRY_RHOST, rhost_key, p->rhost_limit, t);
	long long left = refused_for(&s.r, id_key, rhost_key, t);
	int rc = save_record(&s);
	close_record(&s);
	if (rc != 0) {
		snprintf(msg, msgsize, "%s: cannot write", RECORD);
		return FAIL_BUDGET_ERROR;
	}
	*retry_s = (long)left;
	return left > 0 ? FAIL_BUDGET_REFUSE : FAIL_BUDGET_ALLOW;
}

int fail_budget_near_lockout(int dirfd, const struct fail_policy *p, const char *identifier,
			     time_t now, int *just_refused, char *msg, size_t msgsize)
{
	struct session s;
	char id_key[65], rhost_key[65];
	msg[0] = '\0';
	*just_refused = 0;
	if (!valid_policy(p) || keys(p, identifier, NULL, id_key, rhost_key) != 0) {
		snprintf(msg, msgsize, "failure budget: invalid policy or name");
		return -1;
	}
	if (open_record(&s, dirfd, p, msg, msgsize) != 0)
		return -1;
	long long t = (long long)now;
	expire_all(&s.r, p, t);
	/* Counted as the failure it is, then brought to the limit. */
	*just_refused = count_failure(&s.r, p, ENTRY_IDENTIFIER, id_key, p->limit, t);
	struct entry *e = &s.r.e[find(&s.r, ENTRY_IDENTIFIER, id_key)];
	if (e->until == 0) {
		e->until = t + p->lock;
		*just_refused = 1;
	}
	if (e->count < p->limit)
		e->count = p->limit;
	int rc = save_record(&s);
	close_record(&s);
	if (rc != 0)
		snprintf(msg, msgsize, "%s: cannot write", RECORD);
	return rc;
}

int fail_budget_success(int dirfd, const struct fail_policy *p, const char *identifier, time_t now,
			char *msg, size_t msgsize)
{
	struct session s;
	char id_key[65], rhost_key[65];
	msg[0] = '\0';
	if (!valid_policy(p) || keys(p, identifier, NULL, id_key, rhost_key) != 0) {
		snprintf(msg, msgsize, "failure budget: invalid policy or name");
		return -1;
	}
	if (open_record(&s, dirfd, p, msg, msgsize) != 0)
		return -1;
	int before = s.r.n;
	expire_all(&s.r, p, (long long)now);
	int i = find(&s.r, ENTRY_IDENTIFIER, id_key);
	if (i >= 0)
		drop(&s.r, i);
	int rc = s.r.n != before ? save_record(&s) : 0;
	close_record(&s);
	if (rc != 0)
		snprintf(msg, msgsize, "%s: cannot write", RECORD);
	return rc;
}

/* --- for the administrator's command (issue 16) --------------------------- */

/* A policy that keeps every entry the record may hold, for reading. */
static const struct fail_policy keep_all = { 1, FAIL_MAX_PERIOD, FAIL_MAX_PERIOD, 0,
					     FAIL_MAX_ENTRIES };

int fail_budget_describe(int dirfd, const char *identifier, time_t now,
			 struct fail_entry_info *info, int *n_entries, int *n_refused, char *msg,
			 size_t msgsize)
{
	struct session s;
	char id_key[65] = "";
	msg[0] = '\0';
	if (identifier != NULL && state_name(identifier, id_key) != 0) {
		snprintf(msg, msgsize, "failure budget: unusable name");
		return -1;
	}
	if (open_record(&s, dirfd, &keep_all, msg, msgsize) != 0)
		return -1;
	int refused = 0;
	for (int i = 0; i < s.r.n; i++)
		refused += s.r.e[i].until > (long long)now;
	*n_entries = s.r.n;
	*n_refused = refused;
	int i = identifier != NULL ? find(&s.r, ENTRY_IDENTIFIER, id_key) : -1;
	if (i >= 0)
		*info = (struct fail_entry_info){ s.r.e[i].count, s.r.e[i].first, s.r.e[i].last,
						  s.r.e[i].until };
	close_record(&s);
	return i >= 0 ? 1 : 0;
}

int fail_budget_forget(int dirfd, const char *identifier, char *msg, size_t msgsize)
{
	struct session s;
	char id_key[65] = "";
	msg[0] = '\0';
	if (identifier != NULL && state_name(identifier, id_key) != 0) {
		snprintf(msg, msgsize, "failure budget: unusable name");
		return -1;
	}
	if (open_record(&s, dirfd, &keep_all, msg, msgsize) != 0)
		return -1;
	int rc = 0;
	if (identifier == NULL) {
		record_remove(dirfd, RECORD);
	} else {
		int i = find(&s.r, ENTRY_IDENTIFIER, id_key);
		if (i >= 0) {
			drop(&s.r, i);
			rc = save_record(&s);
		}
	}
	close_record(&s);
	if (rc != 0)
		snprintf(msg, msgsize, "%s: cannot write", RECORD);
	return rc;
}
