/* bench/pam_loop: many PAM transactions in ONE process, for the memory-growth
 * check of bench/run. Each round is pam_start_confdir .. pam_authenticate ..
 * pam_end, so libpam loads and unloads the module every time, as a long-lived
 * daemon (sshd's monitor, a display manager) would see it.
 *
 *   pam_loop CONFDIR SERVICE USER ROUNDS CHECKPOINT... < password
 *
 * The password is the first line of stdin (never argv). After every round
 * listed as a checkpoint it prints one JSON line:
 *   {"round":N,"ok":OK,"failed":F,"vmrss_kb":R,"heap_in_use":H}
 * where heap_in_use is glibc's mallinfo2().uordblks (bytes in use). Exit 0
 * when every round returned PAM_SUCCESS.
 *
 * Build: gcc -O2 -o pam_loop pam_loop.c -lpam   (bench/run does it)
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <security/pam_appl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char password[1024];

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)data;
	struct pam_response *r = calloc((size_t)n, sizeof *r);
	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ||
		    msg[i]->msg_style == PAM_PROMPT_ECHO_ON) {
			r[i].resp = strdup(password);
			if (r[i].resp == NULL) {
				for (int j = 0; j < i; j++)
					free(r[j].resp);
				free(r);
				return PAM_BUF_ERR;
			}
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

static long vmrss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (f == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr,
			"usage: %s CONFDIR SERVICE USER ROUNDS [CHECKPOINT...] < password\n",
			argv[0]);
		return 2;
	}
	const char *confdir = argv[1], *service = argv[2], *user = argv[3];
	long rounds = strtol(argv[4], NULL, 10);
	if (fgets(password, sizeof password, stdin) == NULL)
		return 2;
	password[strcspn(password, "\r\n")] = '\0';

	struct pam_conv pc = { conv, NULL };
	long ok = 0, failed = 0;
	for (long round = 1; round <= rounds; round++) {
		pam_handle_t *pamh = NULL;
		int rc = pam_start_confdir(service, user, &pc, confdir, &pamh);
		if (rc == PAM_SUCCESS)
			rc = pam_authenticate(pamh, 0);
		if (pamh != NULL)
			pam_end(pamh, rc);
		if (rc == PAM_SUCCESS)
			ok++;
		else
			failed++;
		for (int i = 5; i < argc; i++)
			if (strtol(argv[i], NULL, 10) == round) {
				struct mallinfo2 mi = mallinfo2();
				printf("{\"round\":%ld,\"ok\":%ld,\"failed\":%ld,\"vmrss_kb\":%ld,"
				       "\"heap_in_use\":%zu}\n",
				       round, ok, failed, vmrss_kb(), mi.uordblks);
				fflush(stdout);
			}
	}
	explicit_bzero(password, sizeof password);
	return failed == 0 ? 0 : 1;
}
