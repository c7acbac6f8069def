/* bench/lazy_loader: a diagnostic, not part of pam_clerk. A thin PAM module
 * that loads the real pam_clerk.so on first use with dlopen(RTLD_LAZY |
 * RTLD_LOCAL) and forwards to it. bench/run measures it next to pam_clerk.so
 * to show what the "lazy HTTPS stack" change proposed in bench/RESULTS.md
 * would buy: libpam dlopens modules with RTLD_NOW at pam_start, which binds
 * every symbol of libcurl's whole dependency tree (krb5, ldap, gnutls, ssh2,
 * ...) for every transaction, even one that never calls pam_clerk.
 *
 * Build (bench/run does it):
 *   gcc -O2 -shared -fPIC -Wl,-z,nodelete -DREAL_MODULE='"/abs/pam_clerk.so"' \
 *       -o pam_clerk_lazy.so lazy_loader.c -lpam
 */
#include <dlfcn.h>
#include <pthread.h>
#include <security/pam_modules.h>
#include <syslog.h>
#include <security/pam_ext.h>

#ifndef REAL_MODULE
#error "define REAL_MODULE"
#endif

typedef int (*pam_fn)(pam_handle_t *, int, int, const char **);

static const char *const names[] = { "pam_sm_authenticate",  "pam_sm_setcred",
				     "pam_sm_acct_mgmt",     "pam_sm_open_session",
				     "pam_sm_close_session", "pam_sm_chauthtok" };
static pam_fn fns[6];
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;

static void load(void)
{
	void *h = dlopen(REAL_MODULE, RTLD_LAZY | RTLD_LOCAL);
	if (h == NULL)
		return;
	for (int i = 0; i < 6; i++)
		fns[i] = (pam_fn)dlsym(h, names[i]);
	loaded = 1;
}

static int call(int i, pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	pthread_once(&once, load);
	if (!loaded || fns[i] == NULL) {
		pam_syslog(pamh, LOG_ERR, "cannot load %s: %s", REAL_MODULE, dlerror());
		return PAM_SERVICE_ERR;
	}
	return fns[i](pamh, flags, argc, argv);
}

#define FORWARD(i, name)                                                                           \
	__attribute__((visibility("default"))) int name(pam_handle_t *pamh, int flags, int argc,   \
							const char **argv)                         \
	{                                                                                          \
		return call(i, pamh, flags, argc, argv);                                           \
	}

FORWARD(0, pam_sm_authenticate)
FORWARD(1, pam_sm_setcred)
FORWARD(2, pam_sm_acct_mgmt)
FORWARD(3, pam_sm_open_session)
FORWARD(4, pam_sm_close_session)
FORWARD(5, pam_sm_chauthtok)
