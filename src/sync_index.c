/* A string -> position index (open addressing, FNV-1a), so that a sync of
 * tens of thousands of users looks names and ids up in constant time. */
#include "config.h"

#include "sync.h"

#include <stdlib.h>
#include <string.h>

static size_t hash(const char *s)
{
	size_t h = 1469598103934665603ULL & (size_t)-1;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * (1099511628211ULL & (size_t)-1);
	return h;
}

static int grow(struct sync_index *x)
{
	size_t cap = x->cap ? x->cap * 2 : 1024;
	size_t *slot = malloc(cap * sizeof *slot);
	if (slot == NULL)
		return -1;
	for (size_t i = 0; i < cap; i++)
		slot[i] = (size_t)-1;
	for (size_t i = 0; i < x->cap; i++) {
		if (x->slot[i] == (size_t)-1)
			continue;
		size_t j = hash(x->key(x->ctx, x->slot[i])) & (cap - 1);
		while (slot[j] != (size_t)-1)
			j = (j + 1) & (cap - 1);
		slot[j] = x->slot[i];
	}
	free(x->slot);
	x->slot = slot;
	x->cap = cap;
	return 0;
}

size_t sync_index_find(const struct sync_index *x, const char *key)
{
	if (x->cap == 0)
		return (size_t)-1;
	for (size_t j = hash(key) & (x->cap - 1);; j = (j + 1) & (x->cap - 1)) {
		size_t p = x->slot[j];
		if (p == (size_t)-1 || strcmp(x->key(x->ctx, p), key) == 0)
			return p;
	}
}

int sync_index_add(struct sync_index *x, size_t pos)
{
	if ((x->n + 1) * 2 > x->cap && grow(x) != 0)
		return -1;
	size_t j = hash(x->key(x->ctx, pos)) & (x->cap - 1);
	while (x->slot[j] != (size_t)-1)
		j = (j + 1) & (x->cap - 1);
	x->slot[j] = pos;
	x->n++;
	return 0;
}

void sync_index_free(struct sync_index *x)
{
	free(x->slot);
	x->slot = NULL;
	x->cap = x->n = 0;
}
