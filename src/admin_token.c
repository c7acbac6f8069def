/* pam-clerk token: sign a user in the way the module does (login_run, the
 * same settings and requests, export_env on so that the session token is
 * fetched and verified) and print the token for a script. The password
 * comes from the terminal without echo, or from standard input with
 * --password-stdin; one-time codes are asked on the terminal.
 *
 * The session: end_session=auth (the default) ends it before the token is
 * printed (the token still verifies until it expires); with close or never
 * it stays, so that a script can ask for fresh tokens, until Clerk expires
 * it or the user signs out (there is no PAM session to wait for here). */
#include "config.h"

#include "admin.h"
#include "buf.h"
#include "http.h"
#include "login.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define PASSWORD_MAX 1024

struct tty_host {
	bool debug;
};

/* One line from fp into a malloc'd string without its newline; echo off
 * when fp is a terminal and hide is set. NULL on end of input. */
static char *read_line(FILE *fp, bool hide)
{
	struct termios old, quiet;
	int fd = fileno(fp);
	bool restore = hide && isatty(fd) && tcgetattr(fd, &old) == 0;
	if (restore) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	char *line = calloc(1, PASSWORD_MAX + 2);
	if (line != NULL && fgets(line, PASSWORD_MAX + 2, fp) == NULL) {
		secret_free(line);
		line = NULL;
	}
	if (restore) {
		tcsetattr(fd, TCSAFLUSH, &old);
		fputs("\n", stderr);
	}
	if (line != NULL)
		line[strcspn(line, "\r\n")] = '\0';
	return line;
}

/* The conversation: prompts and codes on the controlling terminal. */
static int ask_tty(void *ctx, const char *prompt, char **answer)
{
	(void)ctx;
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL)
		return -1;
	char s_prompt[300];
	fprintf(tty, "%s", sanitize(s_prompt, sizeof s_prompt, prompt));
	fflush(tty);
	*answer = read_line(tty, false);
	fclose(tty);
	return *answer != NULL ? 0 : -1;
}

static void log_stderr(void *ctx, int priority, const char *line)
{
	const struct tty_host *h = ctx;
	if (h->debug || priority <= LOG_WARNING)
		fprintf(stderr, "pam-clerk: %s\n", line);
}

static time_t wall_clock(void *ctx)
{
	(void)ctx;
	return time(NULL);
}

static char *get_password(const struct admin_opts *o)
{
	if (o->password_stdin)
		return read_line(stdin, false);
	FILE *tty = fopen("/dev/tty", "r+");
	if (tty == NULL) {
		fprintf(stderr, "pam-clerk: no terminal to ask the password on "
				"(use --password-stdin)\n");
		return NULL;
	}
	fprintf(tty, "Password: ");
	fflush(tty);
	char *p = read_line(tty, true);
	fclose(tty);
	return p;
}

/* A refusal (exit 1) or a failure to get an answer (exit 3). */
static int exit_for(enum outcome o)
{
	switch (o) {
	case OUTCOME_BAD_CREDENTIALS:
	case OUTCOME_EMPTY_PASSWORD:
	case OUTCOME_PASSWORD_COMPROMISED:
	case OUTCOME_LOCKED:
	case OUTCOME_BANNED:
	case OUTCOME_NEEDS_MORE_FACTORS:
	case OUTCOME_CANNOT_PROMPT:
	case OUTCOME_TOO_MANY_CODES:
	case OUTCOME_NOT_AUTHORIZED:
	case OUTCOME_OFFLINE_BAD_PASSWORD:
	case OUTCOME_OFFLINE_LOCKED:
	case OUTCOME_SESSION_EXISTS:
	case OUTCOME_REJECTED: return ADMIN_PROBLEM;
	case OUTCOME_CONFIG_ERROR: return ADMIN_USAGE;
	default: return ADMIN_FAILED;
	}
}

/* A JSON string; what is not printable ASCII is escaped. */
static void json_string(const char *v)
{
	putchar('"');
	for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	putchar('"');
}

/* Written here rather than by json-c, so that no copy of the token is
 * left in a library's buffer. */
static void print_json(const struct login_result *res, const char *token)
{
	const struct jwt_claims *c = &res->claims;
	fputs("{\"session_id\": ", stdout);
	json_string(res->session_id);
	fputs(", \"user_id\": ", stdout);
	json_string(c->sub);
	fputs(", \"organization\": ", stdout);
	if (c->org_id[0] != '\0')
		json_string(c->org_id);
	else
		fputs("null", stdout);
	fputs(", \"token\": ", stdout);
	json_string(token);
	fputs("}\n", stdout);
}

int admin_token(const struct conf *cfg, const struct admin_opts *o)
{
	char *password = get_password(o);
	if (password == NULL || password[0] == '\0') {
		fprintf(stderr, "pam-clerk: no password given\n");
		secret_free(password);
		return ADMIN_USAGE;
	}
	/* As the module with export_env: the session token is fetched and
	 * verified like the one it exports. */
	struct conf c = *cfg;
	c.export_env = true;
	/* Run by the administrator for a named account (a service account
	 * need not be a local one); the failure budget and pacing still apply. */
	c.local_accounts_only = false;
	struct tty_host th = { cfg->debug };
	struct login_host host = { ask_tty, log_stderr, wall_clock, &th, NULL };
	struct http_conn *conn = login_conn_new(&c);
	struct login_result res;
	login_run(&c, o->user, password, conn, &host, &res);
	http_conn_free(conn);
	secret_free(password);

	int rc = ADMIN_OK;
	/* With jwt_template, the token a script wants is the template's (the
	 * core verified it on its own terms, as the module exports it). */
	const char *token =
		res.fapi.template_jwt != NULL ? res.fapi.template_jwt : res.fapi.session_jwt;
	if (res.outcome != OUTCOME_SUCCESS) {
		fprintf(stderr, "pam-clerk: %s\n", res.log_line);
		if (res.message[0] != '\0')
			fprintf(stderr, "pam-clerk: %s\n", res.message);
		rc = exit_for(res.outcome);
	} else if (!res.verified || token == NULL) {
		fprintf(stderr, "pam-clerk: signed in, but no verified session token: %s\n",
			res.log_line);
		rc = ADMIN_FAILED;
	} else if (o->json) {
		print_json(&res, token);
	} else {
		printf("%s\n", token);
	}
	fflush(stdout);
	login_result_clear(&res);
	return rc;
}
