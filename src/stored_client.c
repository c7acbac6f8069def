#include "config.h"

#include "stored_client.h"

#include "buf.h"
#include "sanitize.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#define TOKEN_FILE_MAX (16 * 1024)
#define MAGIC	       "pam_clerk client v1\n"
#define FILE_NAME_MAX  80

static void note(const struct stored_client *sc, int priority, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void note(const struct stored_client *sc, int priority, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (sc->log != NULL)
		sc->log(sc->log_ctx, priority, line);
}

/* --- the policy ------------------------------------------------------------ */

/* A concurrent login of the same identifier is waited for (STATE_LOCK_WAIT_MS
 * at most, less with a shorter timeout), past which this one goes on without
 * the stored client. With nothing stored nothing is locked while the sign-in
 * runs, so parallel checks of one account do not queue behind each other. */
char *stored_client_take(struct stored_client *sc, const struct conf *cfg, const char *identifier)
{
	char why[300] = "", s_why[400];
	char *stored = NULL;
	sc->st = (struct state){ -1, -1, "" };
	sc->wait_ms =
		cfg->timeout * 1000 < STATE_LOCK_WAIT_MS ? cfg->timeout * 1000 : STATE_LOCK_WAIT_MS;
	sc->keep = cfg->state_dir != NULL &&
		   state_open(&sc->st, cfg->state_dir, identifier, true, why, sizeof why) == 0;
	if (sc->keep && stored_client_present(&sc->st)) {
		sc->keep = state_lock(&sc->st, sc->wait_ms, why, sizeof why) == 0;
		if (sc->keep)
			stored = stored_client_load(&sc->st, why, sizeof why);
		else
			snprintf(why + strlen(why), sizeof why - strlen(why),
				 "; not using stored state");
	}
	/* Root can always keep state, so a failure then is worth a warning; a
	 * non-root caller (a screen locker, a web server's worker) goes without,
	 * and says so once per process, not once per login. */
	static atomic_flag told = ATOMIC_FLAG_INIT;
	if (why[0] != '\0' && (sc->keep || geteuid() == 0))
		note(sc, LOG_WARNING, "state_dir: %s", sanitize(s_why, sizeof s_why, why));
	else if (why[0] != '\0' && !atomic_flag_test_and_set(&told))
		note(sc, LOG_NOTICE,
		     "state_dir: %s; this process (uid %u) goes on without it: no trusted-host "
		     "client, no offline cache, no local failure budget or host-wide "
		     "sign-in pacing, caches in memory only",
		     sanitize(s_why, sizeof s_why, why), (unsigned)geteuid());
	return stored;
}

/* A signed-in client is kept only once its sessions are gone; the same
 * client after a refusal is kept as it is (still trusted). A login that
 * began without one removes nothing: what is there now was stored by a
 * concurrent login. */
void stored_client_settle(struct stored_client *sc, const struct sign_in_result *r)
{
	char why[300] = "";
	if (sc->keep) {
		bool save = r->client_token != NULL &&
			    (r->outcome == OUTCOME_SUCCESS
				     ? r->client_reusable
				     : r->used_stored_token && !r->stored_token_rejected &&
					       r->http_status != 0);
		bool drop = r->used_stored_token &&
			    (r->stored_token_rejected || r->outcome == OUTCOME_SUCCESS);
		if (save && state_lock(&sc->st, sc->wait_ms, why, sizeof why) == 0)
			stored_client_save(&sc->st, r->client_token);
		else if (save)
			note(sc, LOG_WARNING, "state_dir: %s; trusted client not kept", why);
		else if (drop)
			stored_client_drop(&sc->st);
	}
	state_close(&sc->st);
}

/* --- the file ----------------------------------------------------------------- */

bool stored_client_present(const struct state *st)
{
	char file[FILE_NAME_MAX];
	struct stat sb;
	state_file_name(st, ".token", file, sizeof file);
	return st->dirfd >= 0 && fstatat(st->dirfd, file, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

static int valid_token(const char *t, size_t n)
{
	/* Kept as Clerk sent it, "Bearer " and all (issue 12 item 3). */
	if (n > 7 && strncmp(t, "Bearer ", 7) == 0) {
		t += 7;
		n -= 7;
	}
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			return 0;
	return 1;
}

char *stored_client_load(struct state *st, char *err, size_t errsize)
{
	char file[FILE_NAME_MAX];
	struct buf b;

	err[0] = '\0';
	if (st->dirfd < 0 || st->lockfd < 0)
		return NULL;
	state_file_name(st, ".token", file, sizeof file);
	buf_init(&b, TOKEN_FILE_MAX);
	int rc = state_file_read(st->dirfd, file, &b, NULL, err, errsize);
	size_t magic = sizeof MAGIC - 1;
	const char *text = buf_str(&b);
	char *token = NULL;
	if (rc == 0 && b.len > magic + 1 && memcmp(text, MAGIC, magic) == 0 &&
	    text[b.len - 1] == '\n' && valid_token(text + magic, b.len - magic - 1))
		token = strndup(text + magic, b.len - magic - 1);
	else if (rc == 0)
		snprintf(err, errsize, "stored client file corrupt; removed");
	buf_wipe(&b);
	if (rc < 0 || (rc == 0 && token == NULL)) {
		if (rc < 0)
			snprintf(err + strlen(err), errsize - strlen(err), "; removed");
		stored_client_drop(st);
	}
	return token;
}

int stored_client_save(struct state *st, const char *token)
{
	char file[FILE_NAME_MAX];
	struct buf b;
	int rc = -1;

	if (st->dirfd < 0 || st->lockfd < 0 || !valid_token(token, strlen(token)))
		return -1;
	state_file_name(st, ".token", file, sizeof file);
	buf_init(&b, TOKEN_FILE_MAX);
	if (buf_append_str(&b, MAGIC) == 0 && buf_append_str(&b, token) == 0 &&
	    buf_append(&b, "\n", 1) == 0)
		rc = state_file_write(st->dirfd, file, b.data, b.len);
	buf_wipe(&b);
	return rc;
}

void stored_client_drop(struct state *st)
{
	char file[FILE_NAME_MAX];
	if (st->dirfd < 0 || st->lockfd < 0)
		return;
	state_file_name(st, ".token", file, sizeof file);
	unlinkat(st->dirfd, file, 0);
}
