/* A growable byte buffer for data that may hold secrets: every copy it
 * leaves behind (on growth and on free) is wiped. */
#ifndef PAM_CLERK_BUF_H
#define PAM_CLERK_BUF_H

#include <stddef.h>

struct buf {
	char *data; /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
	size_t max; /* appending beyond this many bytes fails */
};

void buf_init(struct buf *b, size_t max);
/* 0 on success, -1 when the result would exceed max or memory ran out. */
int buf_append(struct buf *b, const void *p, size_t n);
int buf_append_str(struct buf *b, const char *s);
/* The contents as a string; "" for an empty buffer. */
const char *buf_str(const struct buf *b);
/* Wipe and release; the buffer is empty (and reusable) afterwards. */
void buf_wipe(struct buf *b);

/* Wipe and free a heap string that may hold a secret. */
void secret_free(char *s);

#endif
