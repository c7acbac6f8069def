/* pam-clerk: the administrator's command beside the module (pam-clerk(8)).
 * The arguments after the subcommand are the module's own key=value
 * arguments (and conf=), read by the module's conf_load, so a PAM line's
 * arguments can be pasted as they are. */
#include "config.h"

#include "admin.h"
#include "conf.h"
#include "http.h"
#include "login.h"
#include "sanitize.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARGS_MAX 64

static const char usage[] =
	"usage: pam-clerk SUBCOMMAND [OPTIONS] [USER] [KEY=VALUE ...]\n"
	"\n"
	"The KEY=VALUE arguments (and conf=FILE) are pam_clerk's own module arguments,\n"
	"read exactly as the module reads them; without conf= the default file is\n"
	"read: " PAM_CLERK_DEFAULT_CONF "\n"
	"\n"
	"subcommands:\n"
	"  check              validate the configuration and test it against the live\n"
	"                     Clerk instance (never sends a password)\n"
	"  status [USER]      what the module keeps in state_dir (for USER, or a summary)\n"
	"  forget USER        remove what the module keeps for USER, failure count too\n"
	"  forget --all       remove everything the module keeps in state_dir\n"
	"  token USER         sign USER in as the module does and print the session token\n"
	"      --password-stdin  read the password from standard input, not the terminal\n"
	"      --json            print {session_id, user_id, organization, token}\n"
	"  sync               write the instance's active users (with organization=, its\n"
	"                     members and a group per role) for libnss-extrausers; needs\n"
	"                     secret_key_file and state_dir; options sync_name=, sync_home=,\n"
	"                     sync_shell=, sync_uid_min=, sync_uid_max=, sync_role_group=,\n"
	"                     sync_dir= (issue 17)\n"
	"      --dry-run         print the changes, write nothing\n"
	"  help, --help       this text\n"
	"\n"
	"USER is the user name a login gives the module; identifier= applies to it.\n"
	"exit status: 0 done (check: a login can work), 1 check found a problem or\n"
	"the sign-in was refused, 2 bad command line or configuration, 3 could not do\n"
	"it (state_dir, network, token not verified). See pam-clerk(8).\n";

static int bad_usage(const char *what, const char *arg)
{
	char s_arg[200];
	fprintf(stderr, "pam-clerk: %s%s%s\nTry 'pam-clerk --help'.\n", what, arg ? ": " : "",
		arg ? sanitize(s_arg, sizeof s_arg, arg) : "");
	return ADMIN_USAGE;
}

/* A module argument: key=value, or one of the module's keys alone (a flag
 * such as debug). */
static bool is_module_arg(const char *a)
{
	if (strchr(a, '=') != NULL)
		return true;
	for (size_t i = 0; conf_key_name(i) != NULL; i++)
		if (strcmp(conf_key_name(i), a) == 0)
			return true;
	return false;
}

int admin_identifier(const struct conf *cfg, const char *user, char *out, size_t outsize)
{
	char why[128];
	if (conf_expand_identifier(cfg->identifier, user, out, outsize, why, sizeof why) == 0)
		return 0;
	fprintf(stderr, "pam-clerk: user name not usable: %s\n", why);
	return -1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return bad_usage("a subcommand is needed", NULL);
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		fputs(usage, stdout);
		return ADMIN_OK;
	}
	int (*run)(const struct conf *, const struct admin_opts *) = NULL;
	bool check = strcmp(cmd, "check") == 0;
	if (strcmp(cmd, "status") == 0)
		run = admin_status;
	else if (strcmp(cmd, "forget") == 0)
		run = admin_forget;
	else if (strcmp(cmd, "token") == 0)
		run = admin_token;
	else if (strcmp(cmd, "sync") == 0)
		run = admin_sync;
	else if (!check)
		return bad_usage("unknown subcommand", cmd);

	struct admin_opts o = { 0 };
	const char *conf_args[ARGS_MAX];
	int n = 0;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return ADMIN_OK;
		} else if (strcmp(a, "--all") == 0 && run == admin_forget) {
			o.all = true;
		} else if (strcmp(a, "--json") == 0 && run == admin_token) {
			o.json = true;
		} else if (strcmp(a, "--password-stdin") == 0 && run == admin_token) {
			o.password_stdin = true;
		} else if (strcmp(a, "--dry-run") == 0 && run == admin_sync) {
			o.dry_run = true;
		} else if (strncmp(a, "sync_", 5) == 0 && run == admin_sync) {
			if (o.nsync == (int)(sizeof o.sync_args / sizeof o.sync_args[0]))
				return bad_usage("too many arguments", NULL);
			o.sync_args[o.nsync++] = a;
		} else if (a[0] == '-') {
			return bad_usage("unknown option for this subcommand", a);
		} else if (is_module_arg(a)) {
			if (n == ARGS_MAX)
				return bad_usage("too many arguments", NULL);
			conf_args[n++] = a;
		} else if (o.user == NULL && !check && run != admin_sync) {
			o.user = a;
		} else {
			return bad_usage("unexpected argument", a);
		}
	}
	if ((run == admin_forget && (o.user == NULL) == !o.all) ||
	    (run == admin_token && o.user == NULL))
		return bad_usage(run == admin_token ? "token needs a USER"
						    : "forget needs a USER or --all (not both)",
				 NULL);

	/* OpenSSL set up before any libcrypto call, as the module does. */
	(void)http_global_init();
	struct conf cfg;
	char err[512], s_err[600];
	if (conf_load(&cfg, n, conf_args, PAM_CLERK_DEFAULT_CONF, err, sizeof err) != 0) {
		fprintf(check ? stdout : stderr, "problem: configuration error: %s\n",
			sanitize(s_err, sizeof s_err, err));
		return ADMIN_USAGE;
	}
	int rc = check ? admin_check(&cfg) : run(&cfg, &o);
	conf_free(&cfg);
	return rc;
}
