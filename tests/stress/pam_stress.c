/* Concurrency and lifecycle of pam_clerk.so under real libpam (no
 * pam_wrapper): the service file comes from a directory of our own through
 * pam_start_confdir(), the conversation is this program's.
 *
 *   pam_stress threads CONFDIR SERVICE NTHREADS ITERATIONS
 *	NTHREADS threads, each doing ITERATIONS logins (pam_start,
 *	pam_authenticate, for a success pam_acct_mgmt, pam_open_session and
 *	pam_close_session, then pam_end), cycling through users with the
 *	right password, a wrong one and unknown users; every result must be
 *	the expected PAM code. Prints one line per thread.
 *
 *   pam_stress cycles CONFDIR SERVICE NCYCLES [MAX_RSS_GROWTH_KB]
 *	NCYCLES load/authenticate/unload cycles in this one process (libpam
 *	dlopens the module at pam_start and dlcloses it at pam_end). VmRSS,
 *	threads and open descriptors are read at cycle 50 and at the last:
 *	threads and descriptors must not grow at all, VmRSS by at most
 *	MAX_RSS_GROWTH_KB (default 2048).
 *
 * Users are those of tests/emulator/users.json; the emulator must run with
 * a lockout threshold above the number of wrong passwords sent. Exit 0
 * when every check held. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct login_case {
	const char *user;
	const char *password;
	int expect;
};

static const struct login_case cases[] = {
	{ "ileap-demo@way.cloud", "HelloPrimaryData", PAM_SUCCESS },
	{ "alice", "correct horse", PAM_SUCCESS },
	{ "bob", "wrong staple", PAM_AUTH_ERR },
	{ "bob", "battery staple", PAM_SUCCESS },
	{ "nobody-here@way.cloud", "whatever", PAM_AUTH_ERR },
	{ "alice@way.cloud", "correct horse", PAM_SUCCESS },
	{ "banned-user", "banned password", PAM_PERM_DENIED },
};
#define NCASES (sizeof cases / sizeof cases[0])

static const char *confdir, *service;

struct conv_data {
	const char *password;
	int prompts;
};

/* Answers the password prompt; refuses anything that asks for more. */
static int conversation(int n, const struct pam_message **msg, struct pam_response **resp,
			void *appdata)
{
	struct conv_data *cd = appdata;
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			cd->prompts++;
			if ((r[i].resp = strdup(cd->password)) == NULL)
				goto fail;
			break;
		case PAM_PROMPT_ECHO_ON: goto fail; /* a code: not in these tests */
		default: break;			    /* PAM_ERROR_MSG, PAM_TEXT_INFO */
		}
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (int i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One login through every stage a success goes through. Returns the
 * authenticate code, or -1 when a later stage failed. */
static int login(const struct login_case *c, char *why, size_t whysize)
{
	struct conv_data cd = { c->password, 0 };
	struct pam_conv conv = { conversation, &cd };
	pam_handle_t *pamh = NULL;
	int rc = pam_start_confdir(service, c->user, &conv, confdir, &pamh);
	if (rc != PAM_SUCCESS) {
		snprintf(why, whysize, "pam_start_confdir: %d", rc);
		return -1;
	}
	int auth = pam_authenticate(pamh, PAM_SILENT);
	int end_status = auth;
	if (auth == PAM_SUCCESS) {
		int acct = pam_acct_mgmt(pamh, PAM_SILENT);
		int open = acct == PAM_SUCCESS ? pam_open_session(pamh, PAM_SILENT) : acct;
		int close = open == PAM_SUCCESS ? pam_close_session(pamh, PAM_SILENT) : open;
		if (acct != PAM_SUCCESS || open != PAM_SUCCESS || close != PAM_SUCCESS) {
			snprintf(why, whysize, "acct=%d open=%d close=%d", acct, open, close);
			auth = -1;
		}
	}
	if (cd.prompts != 1 && auth >= 0) {
		snprintf(why, whysize, "%d password prompts", cd.prompts);
		auth = -1;
	}
	pam_end(pamh, end_status);
	return auth;
}

struct thread_result {
	int id, iterations, ok, wrong;
	double min_s, max_s, total_s;
	char first_error[160];
};

static void *thread_main(void *arg)
{
	struct thread_result *t = arg;
	t->min_s = 1e9;
	for (int i = 0; i < t->iterations; i++) {
		const struct login_case *c = &cases[(size_t)(t->id + i) % NCASES];
		char why[120] = "";
		double t0 = now_s();
		int rc = login(c, why, sizeof why);
		double dt = now_s() - t0;
		t->total_s += dt;
		t->min_s = dt < t->min_s ? dt : t->min_s;
		t->max_s = dt > t->max_s ? dt : t->max_s;
		if (rc == c->expect) {
			t->ok++;
		} else {
			t->wrong++;
			if (t->first_error[0] == '\0')
				snprintf(t->first_error, sizeof t->first_error,
					 "iteration %d user %s: got %d (%s) want %d (%s) %s", i,
					 c->user, rc, rc >= 0 ? pam_strerror(NULL, rc) : "-",
					 c->expect, pam_strerror(NULL, c->expect), why);
		}
	}
	return NULL;
}

static int run_threads(int nthreads, int iterations)
{
	pthread_t *tids = calloc((size_t)nthreads, sizeof *tids);
	struct thread_result *res = calloc((size_t)nthreads, sizeof *res);
	if (tids == NULL || res == NULL)
		return 2;
	double t0 = now_s();
	for (int i = 0; i < nthreads; i++) {
		res[i].id = i;
		res[i].iterations = iterations;
		if (pthread_create(&tids[i], NULL, thread_main, &res[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 2;
		}
	}
	int ok = 0, wrong = 0;
	double worst = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(tids[i], NULL);
		struct thread_result *r = &res[i];
		printf("thread %2d: %d/%d correct, login %.3f..%.3f s (mean %.3f)%s%s\n", r->id,
		       r->ok, r->iterations, r->min_s, r->max_s, r->total_s / r->iterations,
		       r->wrong ? ", first wrong: " : "", r->first_error);
		ok += r->ok;
		wrong += r->wrong;
		worst = r->max_s > worst ? r->max_s : worst;
	}
	printf("threads: %d threads x %d logins: %d correct, %d wrong, %.1f s, slowest login "
	       "%.3f s\n",
	       nthreads, iterations, ok, wrong, now_s() - t0, worst);
	free(tids);
	free(res);
	return wrong == 0 ? 0 : 1;
}

struct usage {
	long rss_kb, threads, fds;
};

static struct usage usage_now(void)
{
	struct usage u = { -1, -1, 0 };
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	while (f != NULL && fgets(line, sizeof line, f) != NULL) {
		if (strncmp(line, "VmRSS:", 6) == 0)
			u.rss_kb = strtol(line + 6, NULL, 10);
		else if (strncmp(line, "Threads:", 8) == 0)
			u.threads = strtol(line + 8, NULL, 10);
	}
	if (f != NULL)
		fclose(f);
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			u.fds++;
	if (d != NULL)
		closedir(d);
	u.fds--; /* the directory itself */
	return u;
}

static int run_cycles(int ncycles, long max_growth_kb)
{
	struct usage at50 = { 0, 0, 0 }, first = usage_now();
	int wrong = 0;
	double t0 = now_s(), worst = 0;
	printf("cycles: before: VmRSS %ld kB, %ld threads, %ld fds\n", first.rss_kb, first.threads,
	       first.fds);
	for (int i = 1; i <= ncycles; i++) {
		const struct login_case *c = &cases[(size_t)i % NCASES];
		char why[120] = "";
		double t1 = now_s();
		int rc = login(c, why, sizeof why);
		double dt = now_s() - t1;
		worst = dt > worst ? dt : worst;
		if (rc != c->expect) {
			if (wrong++ == 0)
				fprintf(stderr, "cycle %d user %s: got %d want %d %s\n", i, c->user,
					rc, c->expect, why);
		}
		if (i == 50 || i == ncycles || i % 100 == 0) {
			struct usage u = usage_now();
			printf("cycles: after %4d: VmRSS %ld kB, %ld threads, %ld fds\n", i,
			       u.rss_kb, u.threads, u.fds);
			if (i == 50)
				at50 = u;
		}
	}
	struct usage last = usage_now();
	int rc = wrong == 0 ? 0 : 1;
	if (ncycles >= 50) {
		long growth = last.rss_kb - at50.rss_kb;
		printf("cycles: %d cycles, %d wrong, %.1f s, slowest %.3f s; from cycle 50 to %d: "
		       "VmRSS %+ld kB (limit %ld), threads %+ld, fds %+ld\n",
		       ncycles, wrong, now_s() - t0, worst, ncycles, growth, max_growth_kb,
		       last.threads - at50.threads, last.fds - at50.fds);
		if (growth > max_growth_kb || last.threads != at50.threads || last.fds != at50.fds)
			rc = 1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr,
			"usage: %s threads CONFDIR SERVICE NTHREADS ITERATIONS\n"
			"       %s cycles CONFDIR SERVICE NCYCLES [MAX_RSS_GROWTH_KB]\n",
			argv[0], argv[0]);
		return 2;
	}
	confdir = argv[2];
	service = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "threads") == 0 && argc == 6)
		return run_threads(atoi(argv[4]), atoi(argv[5]));
	if (strcmp(argv[1], "cycles") == 0)
		return run_cycles(atoi(argv[4]), argc > 5 ? atol(argv[5]) : 2048);
	fprintf(stderr, "unknown mode %s\n", argv[1]);
	return 2;
}
