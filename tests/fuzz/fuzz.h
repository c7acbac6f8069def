/* Shared by the fuzz targets: the libFuzzer entry point, and a check that
 * aborts (so that libFuzzer, ASan and the replay driver all see a crash)
 * when a parser breaks one of its promises. Each fuzz_*.c is built twice:
 * with clang -fsanitize=fuzzer for "make fuzz", and with the project's
 * compiler plus replay.c for "make check", which replays the corpus. */
#ifndef PAM_CLERK_FUZZ_H
#define PAM_CLERK_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);   \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* A field of fixed size is a C string that ends inside it. */
#define FUZZ_TERMINATED(arr) FUZZ_CHECK(memchr((arr), '\0', sizeof(arr)) != NULL)

/* A heap copy of exactly n bytes (no terminator): reads past the end are
 * caught by ASan and valgrind. */
static inline char *fuzz_copy(const uint8_t *data, size_t n)
{
	char *p = malloc(n > 0 ? n : 1);
	FUZZ_CHECK(p != NULL);
	if (n > 0)
		memcpy(p, data, n);
	else
		p[0] = '\0';
	return p;
}

/* A heap C string made of the bytes up to the first NUL (or all of them). */
static inline char *fuzz_cstr(const uint8_t *data, size_t n)
{
	const uint8_t *nul = memchr(data, 0, n);
	size_t len = nul != NULL ? (size_t)(nul - data) : n;
	char *p = malloc(len + 1);
	FUZZ_CHECK(p != NULL);
	memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

static inline int fuzz_is_id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-';
}

#endif
