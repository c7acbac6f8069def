#include "config.h"

#include "refusal_time.h"

#include "buf.h"
#include "record_file.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define RECORD	   "refusal_times"
#define MAGIC	   "pam_clerk refusal times v1\n"
#define RECORD_MAX 1024

struct samples {
	int n;
	long ms[REFUSAL_SAMPLES]; /* oldest first */
};

/* A decimal of 1 to 5 digits at *p; *p moves past it. */
static int digits(const char **p, long *out)
{
	long v = 0;
	int n = 0;
	while (**p >= '0' && **p <= '9' && n < 5) {
		v = v * 10 + (**p - '0');
		(*p)++;
		n++;
	}
	*out = v;
	return n > 0 && !(**p >= '0' && **p <= '9') ? 0 : -1;
}

/* "<n>[ <ms>]*\n" after the magic line, every ms within range. */
static int parse(const char *text, size_t len, struct samples *s)
{
	size_t magic = sizeof MAGIC - 1;
	long n;
	s->n = 0;
	if (len == 0)
		return 0;
	if (len < magic || memcmp(text, MAGIC, magic) != 0 || strlen(text) != len)
		return -1;
	const char *p = text + magic;
	if (digits(&p, &n) != 0 || n > REFUSAL_SAMPLES)
		return -1;
	for (long i = 0; i < n; i++) {
		if (*p++ != ' ' || digits(&p, &s->ms[i]) != 0 || s->ms[i] < REFUSAL_MIN_MS ||
		    s->ms[i] > REFUSAL_MAX_MS)
			return -1;
	}
	s->n = (int)n;
	return strcmp(p, "\n") == 0 ? 0 : -1;
}

/* Lock and read; a corrupt record starts empty (reported in err). */
static int load(int dirfd, struct samples *s, char *err, size_t errsize)
{
	struct buf b;
	buf_init(&b, RECORD_MAX);
	int fd = record_open(dirfd, RECORD, REFUSAL_LOCK_WAIT_MS, &b, err, errsize);
	if (fd >= 0 && parse(buf_str(&b), b.len, s) != 0) {
		s->n = 0;
		record_remove(dirfd, RECORD);
		snprintf(err, errsize, "%s: corrupt; removed, starting afresh", RECORD);
	}
	buf_wipe(&b);
	return fd;
}

int refusal_time_learn(int dirfd, long ms, char *err, size_t errsize)
{
	struct samples s;
	char text[RECORD_MAX];
	err[0] = '\0';
	if (ms < REFUSAL_MIN_MS || ms > REFUSAL_MAX_MS) {
		snprintf(err, errsize, "%s: %ld ms is no typical refusal; not learnt", RECORD, ms);
		return -1;
	}
	int fd = load(dirfd, &s, err, errsize);
	if (fd < 0)
		return -1;
	if (s.n == REFUSAL_SAMPLES) {
		memmove(s.ms, s.ms + 1, sizeof s.ms[0] * (REFUSAL_SAMPLES - 1));
		s.n--;
	}
	s.ms[s.n++] = ms;
	size_t n = (size_t)snprintf(text, sizeof text, "%s%d", MAGIC, s.n);
	for (int i = 0; i < s.n; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, " %ld", s.ms[i]);
	n += (size_t)snprintf(text + n, sizeof text - n, "\n");
	int rc = record_save(dirfd, RECORD, text, n);
	if (rc != 0)
		snprintf(err, errsize, "%s: cannot write", RECORD);
	record_close(fd);
	return rc;
}

long refusal_time_pick(int dirfd, long default_ms, char *err, size_t errsize)
{
	struct samples s;
	unsigned int r = 0;
	err[0] = '\0';
	int fd = load(dirfd, &s, err, errsize);
	if (fd < 0)
		return default_ms;
	record_close(fd);
	if (s.n == 0)
		return default_ms;
	if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
		r = 0; /* the oldest: still a real refusal's duration */
	return s.ms[r % (unsigned)s.n];
}
