/* Replays a fuzz target's corpus without libFuzzer: "make check" links this
 * main() with one fuzz_*.c and runs it. With no arguments it replays
 * $SRCDIR/tests/fuzz/corpus/<target>/ (or the corpus dir compiled in);
 * with arguments, the files and directories named (a crash file from
 * "make fuzz", say, under valgrind). Each input is handed over in a heap
 * block of its exact size, as libFuzzer does. Exit 0 when every input ran;
 * a broken promise aborts inside the target. */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#error "FUZZ_NAME (the target's corpus name) must be defined"
#endif
#ifndef FUZZ_CORPUS_DIR
#define FUZZ_CORPUS_DIR "tests/fuzz/corpus"
#endif

#define INPUT_MAX (4 * 1024 * 1024)

static unsigned long runs;

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	uint8_t *data = malloc(INPUT_MAX);
	size_t n = data != NULL ? fread(data, 1, INPUT_MAX, f) : 0;
	int bad = data == NULL || ferror(f) || !feof(f);
	fclose(f);
	if (bad) {
		fprintf(stderr, "%s: unreadable or over %d bytes\n", path, INPUT_MAX);
		free(data);
		return -1;
	}
	/* Exactly n bytes, so that a read past the end is an error. */
	uint8_t *exact = malloc(n > 0 ? n : 1);
	if (exact == NULL) {
		free(data);
		return -1;
	}
	if (n > 0)
		memcpy(exact, data, n);
	free(data);
	if (getenv("FUZZ_REPLAY_VERBOSE") != NULL)
		fprintf(stderr, "replay %s (%zu bytes)\n", path, n);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	runs++;
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Files of a directory in name order (a stable replay order). */
static int run_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		fprintf(stderr, "%s: %s\n", dir, strerror(errno));
		return -1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			char **grown = realloc(names, cap * sizeof *names);
			if (grown == NULL) {
				rc = -1;
				break;
			}
			names = grown;
		}
		size_t len = strlen(dir) + strlen(e->d_name) + 2;
		names[n] = malloc(len);
		if (names[n] == NULL) {
			rc = -1;
			break;
		}
		snprintf(names[n], len, "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
			rc = run_file(names[i]);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	return S_ISDIR(st.st_mode) ? run_dir(path) : run_file(path);
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc > 1) {
		for (int i = 1; i < argc && rc == 0; i++)
			rc = run_path(argv[i]);
	} else {
		const char *srcdir = getenv("SRCDIR");
		char dir[4096];
		if (srcdir != NULL && srcdir[0] != '\0')
			snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/%s", srcdir, FUZZ_NAME);
		else
			snprintf(dir, sizeof dir, "%s/%s", FUZZ_CORPUS_DIR, FUZZ_NAME);
		rc = run_dir(dir);
		if (rc == 0 && runs == 0) {
			fprintf(stderr, "%s: empty corpus\n", dir);
			rc = -1;
		}
	}
	printf("fuzz replay %s: %lu inputs, %s\n", FUZZ_NAME, runs, rc == 0 ? "ok" : "FAILED");
	return rc == 0 ? 0 : 1;
}
