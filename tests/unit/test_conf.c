/* Unit tests for conf.c: module arguments, pam_clerk.conf, and the checks
 * on both. Files are written to a private temporary directory. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

#define KEY_COM "pk_live_Y2xlcmsuZXhhbXBsZS5jb20k" /* https://clerk.example.com */
#define KEY_DEV "pk_test_ZXhhbXBsZS1kZXN0aW5lZC1jYW1lbC0xMy5jbGVyay5hY2NvdW50cy5kZXYk"
#define URL_DEV "https://example-destined-camel-13.clerk.accounts.dev"
#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static char tmpdir[PATH_MAX];
static char conf_path[PATH_MAX + 32]; /* tmpdir/pam_clerk.conf */
static char conf_arg[PATH_MAX + 64];  /* "conf=" + conf_path */
static char cafile[PATH_MAX + 32];    /* an existing regular file */
static char err[1024];

/* --- fixtures and helpers ------------------------------------------------ */

static int remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		char p[PATH_MAX + 300];
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
			remove_tree(p);
		else
			unlink(p);
	}
	closedir(d);
	return rmdir(dir);
}

static int group_setup(void **state)
{
	(void)state;
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/pam_clerk_unit.XXXXXX", t && *t ? t : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(conf_path, sizeof conf_path, "%s/pam_clerk.conf", tmpdir);
	snprintf(conf_arg, sizeof conf_arg, "conf=%s", conf_path);
	snprintf(cafile, sizeof cafile, "%s/ca.XXXXXX", tmpdir);
	int fd = mkstemp(cafile);
	if (fd < 0)
		return -1;
	if (write(fd, "not really a CA\n", 16) != 16) {
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The group's temporary tree is removed by the last test, as an assertion:
 * cmocka reports a failed group teardown but still exits 0. */
static void test_temp_tree_removed(void **state)
{
	(void)state;
	assert_int_equal(remove_tree(tmpdir), 0);
	assert_int_equal(access(tmpdir, F_OK), -1);
}

/* Each test starts without a pam_clerk.conf. */
static int setup(void **state)
{
	(void)state;
	unlink(conf_path);
	err[0] = '\0';
	return 0;
}

/* Write tmpdir/name with exactly these bytes and this mode; returns the path. */
static const char *write_file_n(const char *name, const char *text, size_t n, mode_t mode)
{
	static char path[4][PATH_MAX + 300];
	static int next;
	char *p = path[next++ % 4];
	snprintf(p, PATH_MAX + 300, "%s/%s", tmpdir, name);
	unlink(p);
	int fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
	return p;
}

static const char *write_conf(const char *text)
{
	return write_file_n("pam_clerk.conf", text, strlen(text), 0600);
}

static int load(struct conf *c, int argc, const char **argv, const char *default_path)
{
	err[0] = '\0';
	return conf_load(c, argc, argv, default_path, err, sizeof err);
}

static void assert_err_has(const char *fragment)
{
	if (strstr(err, fragment) == NULL) {
		print_error("error '%s' lacks '%s'\n", err, fragment);
		fail();
	}
}

/* conf_load must fail, with an error naming each non-NULL fragment, and
 * leave nothing allocated behind. */
static void expect_fail(int argc, const char **argv, const char *default_path, const char *f1,
			const char *f2)
{
	struct conf c;
	int rc = load(&c, argc, argv, default_path);
	if (rc == 0)
		print_error("conf_load succeeded; expected an error with '%s'\n", f1 ? f1 : "");
	assert_int_equal(rc, -1);
	assert_true(err[0] != '\0');
	if (f1 != NULL)
		assert_err_has(f1);
	if (f2 != NULL)
		assert_err_has(f2);
	assert_null(c.publishable_key);
	assert_null(c.frontend_api_arg);
	assert_null(c.identifier);
	assert_null(c.conf_path);
	assert_null(c.api_version);
}

static void expect_ok(struct conf *c, int argc, const char **argv, const char *default_path)
{
	int rc = load(c, argc, argv, default_path);
	if (rc != 0)
		print_error("conf_load failed: %s\n", err);
	assert_int_equal(rc, 0);
}

/* --- module arguments only ----------------------------------------------- */

static void test_args_only_defaults(void **state)
{
	(void)state;
	const char *argv[] = { "publishable_key=" KEY_COM };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_string_equal(c.frontend_api, "https://clerk.example.com");
	assert_string_equal(c.publishable_key, KEY_COM);
	assert_null(c.frontend_api_arg);
	assert_null(c.conf_path);
	assert_int_equal(c.timeout, 10);
	assert_int_equal(c.connect_timeout, 5);
	assert_string_equal(c.api_version, "2026-05-12");
	assert_string_equal(c.identifier, "%u");
	assert_null(c.cafile);
	assert_null(c.capath);
	assert_null(c.proxy);
	assert_false(c.debug);
	assert_false(c.use_first_pass);
	assert_false(c.try_first_pass);
	assert_null(c.factor);
	assert_int_equal(c.max_tries, 3);
	assert_non_null(c.state_dir);
	assert_string_equal(c.state_dir, PAM_CLERK_STATE_DIR);
	conf_free(&c);
	assert_null(c.publishable_key);
	assert_null(c.identifier);
	conf_free(&c); /* twice is harmless */
}

static void test_args_every_key(void **state)
{
	(void)state;
	char capath_arg[PATH_MAX + 16], cafile_arg[PATH_MAX + 48];
	snprintf(capath_arg, sizeof capath_arg, "capath=%s", tmpdir);
	snprintf(cafile_arg, sizeof cafile_arg, "cafile=%s", cafile);
	const char *argv[] = {
		"publishable_key=" KEY_DEV,
		"identifier=%u@way.cloud",
		cafile_arg,
		capath_arg,
		"timeout=20",
		"connect_timeout=3",
		"proxy=http://127.0.0.1:1080",
		"api_version=2025-04-10",
		"debug",
		"use_first_pass",
		"try_first_pass=yes",
	};
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_string_equal(c.frontend_api, URL_DEV);
	assert_string_equal(c.identifier, "%u@way.cloud");
	assert_string_equal(c.cafile, cafile);
	assert_string_equal(c.capath, tmpdir);
	assert_int_equal(c.timeout, 20);
	assert_int_equal(c.connect_timeout, 3);
	assert_string_equal(c.proxy, "http://127.0.0.1:1080");
	assert_string_equal(c.api_version, "2025-04-10");
	assert_true(c.debug);
	assert_true(c.use_first_pass);
	assert_true(c.try_first_pass);
	assert_null(c.conf_path);
	conf_free(&c);
}

static void test_frontend_api(void **state)
{
	(void)state;
	const char *argv[] = { "frontend_api=HTTPS://127.0.0.1:8443/" };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_string_equal(c.frontend_api, "https://127.0.0.1:8443");
	assert_string_equal(c.frontend_api_arg, "HTTPS://127.0.0.1:8443/");
	assert_null(c.publishable_key);
	conf_free(&c);
}

static void test_frontend_api_wins_over_key(void **state)
{
	(void)state;
	const char *a1[] = { "publishable_key=" KEY_COM, "frontend_api=https://127.0.0.1:9443" };
	const char *a2[] = { "frontend_api=https://127.0.0.1:9443", "publishable_key=" KEY_COM };
	struct conf c;
	expect_ok(&c, ARGC(a1), a1, NULL);
	assert_string_equal(c.frontend_api, "https://127.0.0.1:9443");
	conf_free(&c);
	expect_ok(&c, ARGC(a2), a2, NULL);
	assert_string_equal(c.frontend_api, "https://127.0.0.1:9443");
	conf_free(&c);

	/* Also when the key comes from the file and the URL from an argument. */
	write_conf("publishable_key = " KEY_COM "\n");
	const char *a3[] = { conf_arg, "frontend_api=https://127.0.0.1:9443" };
	expect_ok(&c, ARGC(a3), a3, NULL);
	assert_string_equal(c.frontend_api, "https://127.0.0.1:9443");
	conf_free(&c);
}

static void test_no_instance(void **state)
{
	(void)state;
	const char *argv[] = { "debug" };
	expect_fail(ARGC(argv), argv, NULL, "publishable_key", "frontend_api");
	expect_fail(0, NULL, NULL, "publishable_key", "frontend_api");
	/* With a file, the error says which file lacks it. */
	write_conf("debug = yes\n");
	const char *a2[] = { conf_arg };
	expect_fail(ARGC(a2), a2, NULL, "publishable_key", conf_path);
}

static void test_args_flags(void **state)
{
	(void)state;
	static const struct {
		const char *arg;
		bool want;
	} cases[] = {
		{ "debug", true },	{ "debug=yes", true }, { "debug=YES", true },
		{ "debug=true", true }, { "debug=on", true },  { "debug=1", true },
		{ "debug=no", false },	{ "debug=No", false }, { "debug=false", false },
		{ "debug=off", false }, { "debug=0", false },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *argv[] = { "publishable_key=" KEY_COM, cases[i].arg };
		struct conf c;
		expect_ok(&c, ARGC(argv), argv, NULL);
		assert_int_equal(c.debug, cases[i].want);
		conf_free(&c);
	}
	/* Later arguments win. */
	const char *argv[] = { "publishable_key=" KEY_COM, "use_first_pass", "use_first_pass=no",
			       "try_first_pass=off", "try_first_pass" };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_false(c.use_first_pass);
	assert_true(c.try_first_pass);
	conf_free(&c);
}

static void test_args_errors(void **state)
{
	(void)state;
	const char *a1[] = { "publishable_key=" KEY_COM, "debug=maybe" };
	expect_fail(ARGC(a1), a1, NULL, "module argument 'debug'", "maybe");
	const char *a2[] = { "publishable_key=" KEY_COM, "debug=" };
	expect_fail(ARGC(a2), a2, NULL, "module argument 'debug'", NULL);
	const char *a3[] = { "publishable_key=" KEY_COM, "colour=blue" };
	expect_fail(ARGC(a3), a3, NULL, "module argument 'colour'", "unknown key");
	const char *a4[] = { "publishable_key=" KEY_COM, "timeout" };
	expect_fail(ARGC(a4), a4, NULL, "module argument 'timeout'", "needs a value");
	const char *a5[] = { "publishable_key=" KEY_COM, "timeout=" };
	expect_fail(ARGC(a5), a5, NULL, "module argument 'timeout'", "needs a value");
	const char *a6[] = { "publishable_key=sk_live_secret" };
	expect_fail(ARGC(a6), a6, NULL, "module argument 'publishable_key'", NULL);
	const char *a7[] = { "frontend_api=http://clerk.example.com" };
	expect_fail(ARGC(a7), a7, NULL, "module argument 'frontend_api'", "https");
	const char *a8[] = { "publishable_key=" KEY_COM, "" };
	expect_fail(ARGC(a8), a8, NULL, "unknown key", NULL);
	const char *a9[] = { "publishable_key=" KEY_COM, "conf" };
	expect_fail(ARGC(a9), a9, NULL, "'conf'", "needs a value");
	const char *a10[] = { "publishable_key=" KEY_COM, "conf=" };
	expect_fail(ARGC(a10), a10, NULL, "'conf'", "needs a value");
	/* A bad value after a good instance key is still an error. */
	const char *a11[] = { "publishable_key=" KEY_COM, "frontend_api=https://x..y" };
	expect_fail(ARGC(a11), a11, NULL, "frontend_api", NULL);
}

static void test_unknown_key_shown_safely(void **state)
{
	(void)state;
	const char *a1[] = { "publishable_key=" KEY_COM, "bad\x1bkey=1" };
	expect_fail(ARGC(a1), a1, NULL, "'bad?key'", "unknown key");
	assert_null(strchr(err, '\x1b'));
	const char *a2[] = { "publishable_key=" KEY_COM, "caf\xc3\xa9=1" };
	expect_fail(ARGC(a2), a2, NULL,
		    "'caf?"
		    "?'",
		    "unknown key");
	/* A very long unknown key is cut to 40 characters. */
	char longkey[300];
	memset(longkey, 'k', 250);
	strcpy(longkey + 250, "=1");
	const char *a3[] = { "publishable_key=" KEY_COM, longkey };
	expect_fail(ARGC(a3), a3, NULL, "unknown key", NULL);
	char k41[64];
	memset(k41, 'k', 41);
	k41[41] = '\0';
	assert_null(strstr(err, k41));
}

/* --- the file ------------------------------------------------------------ */

static void test_file_explicit(void **state)
{
	(void)state;
	static char text[3 * PATH_MAX];
	snprintf(text, sizeof text,
		 "# pam_clerk configuration\n"
		 "\n"
		 "publishable_key = " KEY_DEV "\n"
		 "identifier = %%u@way.cloud\n"
		 "cafile = %s\n"
		 "capath = %s\n"
		 "timeout = 30\n"
		 "connect_timeout = 7\n"
		 "proxy = http://proxy.example:3128\n"
		 "api_version = 2025-11-10\n"
		 "debug\n"
		 "use_first_pass = yes\n"
		 "try_first_pass = no\n",
		 cafile, tmpdir);
	write_conf(text);
	const char *argv[] = { conf_arg };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, "/nonexistent/pam_clerk.conf");
	assert_string_equal(c.conf_path, conf_path);
	assert_string_equal(c.frontend_api, URL_DEV);
	assert_string_equal(c.identifier, "%u@way.cloud");
	assert_string_equal(c.cafile, cafile);
	assert_string_equal(c.capath, tmpdir);
	assert_int_equal(c.timeout, 30);
	assert_int_equal(c.connect_timeout, 7);
	assert_string_equal(c.proxy, "http://proxy.example:3128");
	assert_string_equal(c.api_version, "2025-11-10");
	assert_true(c.debug);
	assert_true(c.use_first_pass);
	assert_false(c.try_first_pass);
	conf_free(&c);
}

static void test_file_default_path(void **state)
{
	(void)state;
	write_conf("frontend_api = https://127.0.0.1:8443\ntimeout = 12\n");
	struct conf c;
	expect_ok(&c, 0, NULL, conf_path);
	assert_string_equal(c.conf_path, conf_path);
	assert_string_equal(c.frontend_api, "https://127.0.0.1:8443");
	assert_int_equal(c.timeout, 12);
	conf_free(&c);
}

static void test_file_default_missing_is_fine(void **state)
{
	(void)state;
	char missing[PATH_MAX + 32];
	snprintf(missing, sizeof missing, "%s/absent.conf", tmpdir);
	const char *argv[] = { "publishable_key=" KEY_COM };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, missing);
	assert_null(c.conf_path);
	assert_string_equal(c.frontend_api, "https://clerk.example.com");
	conf_free(&c);
}

static void test_file_explicit_missing_is_error(void **state)
{
	(void)state;
	char arg[PATH_MAX + 48];
	snprintf(arg, sizeof arg, "conf=%s/absent.conf", tmpdir);
	const char *argv[] = { "publishable_key=" KEY_COM, arg };
	expect_fail(ARGC(argv), argv, NULL, "absent.conf", "not found");
	/* Even when the default path exists. */
	write_conf("publishable_key = " KEY_COM "\n");
	expect_fail(ARGC(argv), argv, conf_path, "absent.conf", "not found");
}

static void test_file_args_win(void **state)
{
	(void)state;
	write_conf("publishable_key = " KEY_DEV "\n"
		   "timeout = 20\n"
		   "connect_timeout = 4\n"
		   "identifier = %u@file.example\n"
		   "api_version = 2024-10-01\n"
		   "proxy = http://file-proxy.example:3128\n"
		   "debug = yes\n"
		   "use_first_pass = no\n");
	/* conf= comes last here on purpose: the file is still read first. */
	const char *argv[] = { "timeout=30",
			       "identifier=%u@arg.example",
			       "api_version=2025-04-10",
			       "proxy=http://arg-proxy.example:8080",
			       "debug=no",
			       "use_first_pass",
			       "publishable_key=" KEY_COM,
			       conf_arg };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_int_equal(c.timeout, 30);
	assert_int_equal(c.connect_timeout, 4); /* from the file, not overridden */
	assert_string_equal(c.identifier, "%u@arg.example");
	assert_string_equal(c.api_version, "2025-04-10");
	assert_string_equal(c.proxy, "http://arg-proxy.example:8080");
	assert_false(c.debug);
	assert_true(c.use_first_pass);
	assert_string_equal(c.frontend_api, "https://clerk.example.com");
	conf_free(&c);
}

static void test_file_later_line_wins(void **state)
{
	(void)state;
	write_conf("publishable_key = " KEY_COM "\ntimeout = 20\ntimeout = 25\n");
	const char *argv[] = { conf_arg };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_int_equal(c.timeout, 25);
	conf_free(&c);
}

static void test_file_last_conf_arg_wins(void **state)
{
	(void)state;
	write_conf("publishable_key = " KEY_COM "\ntimeout = 21\n");
	char first[PATH_MAX + 48];
	snprintf(first, sizeof first, "conf=%s/absent.conf", tmpdir);
	const char *argv[] = { first, conf_arg };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_int_equal(c.timeout, 21);
	assert_string_equal(c.conf_path, conf_path);
	conf_free(&c);
}

static void test_file_syntax(void **state)
{
	(void)state;
	/* Comments, blank lines, indentation, tabs around '=', CRLF, and a
	 * value containing '=' and spaces. */
	write_conf("# comment line\r\n"
		   "   # indented comment\n"
		   "\n"
		   "\t\n"
		   "   publishable_key\t=\t" KEY_COM "  \r\n"
		   "timeout=15\n"
		   "  api_version =2025-04-10\t\n"
		   "proxy = http://user:p=w@proxy.example:3128\n"
		   "identifier = first name %u\n"
		   "# timeout = not-a-number\n"
		   "debug   \r\n"
		   "try_first_pass"); /* no final newline */
	const char *argv[] = { conf_arg };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_string_equal(c.publishable_key, KEY_COM);
	assert_int_equal(c.timeout, 15);
	assert_string_equal(c.api_version, "2025-04-10");
	assert_string_equal(c.proxy, "http://user:p=w@proxy.example:3128");
	assert_string_equal(c.identifier, "first name %u");
	assert_true(c.debug);
	assert_true(c.try_first_pass);
	conf_free(&c);
}

/* A proxy password is refused where others can read it: in a module
 * argument (/etc/pam.d is world-readable) or in a 0644 file. */
static void test_proxy_password_only_in_a_private_file(void **state)
{
	(void)state;
	const char *args[] = { "publishable_key=" KEY_COM,
			       "proxy=http://svc:s3cret@proxy.example" };
	expect_fail(ARGC(args), args, NULL, "proxy", "module argument");
	assert_null(strstr(err, "s3cret"));

	const char *text =
		"publishable_key = " KEY_COM "\nproxy = http://svc:s3cret@proxy.example\n";
	write_file_n("pam_clerk.conf", text, strlen(text), 0644);
	const char *file_args[] = { conf_arg };
	expect_fail(ARGC(file_args), file_args, NULL, "pam_clerk.conf:2", "chmod 600");
	assert_null(strstr(err, "s3cret"));

	write_conf(text);
	struct conf c;
	expect_ok(&c, ARGC(file_args), file_args, NULL);
	assert_string_equal(c.proxy, "http://svc:s3cret@proxy.example");
	conf_free(&c);

	/* Without a password, a proxy may be a module argument. */
	const char *plain[] = { "publishable_key=" KEY_COM, "proxy=http://proxy.example:3128" };
	expect_ok(&c, ARGC(plain), plain, NULL);
	conf_free(&c);
}

static void test_file_empty(void **state)
{
	(void)state;
	write_conf("");
	const char *argv[] = { conf_arg, "publishable_key=" KEY_COM };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_string_equal(c.conf_path, conf_path);
	conf_free(&c);
}

/* Every key, with a good and a bad value, on line 3 of the file. */
struct key_case {
	const char *key;
	const char *good[4];
	const char *bad[6];
	const char *why; /* a fragment of the reason for the first bad value */
};

static const char *subst(const char *v)
{
	if (v != NULL && strcmp(v, "@FILE@") == 0)
		return cafile;
	if (v != NULL && strcmp(v, "@DIR@") == 0)
		return tmpdir;
	return v;
}

static const struct key_case key_cases[] = {
	{ "publishable_key",
	  { KEY_COM, KEY_DEV, "pk_live_Y2xlcmsuZm9vLmlvJA" },
	  { "pk_live_nope", "sk_live_Y2xlcmsuZXhhbXBsZS5jb20k", "pk_live_bG9jYWxob3N0JA==" },
	  "publishable key" },
	{ "frontend_api",
	  { "https://127.0.0.1:8443/", "https://example.com/__clerk", "https://localhost:8443",
	    "https://[::1]:8443" },
	  { "http://clerk.example.com", "https://clerk.example.com/a/../b", "https://a..b",
	    "https://clerk.example.com:0", "clerk.example.com", "https://[::1" },
	  "https" },
	{ "issuer",
	  { "https://clerk.example.com", "https://clerk.example.com/" },
	  { "http://clerk.example.com", "https://clerk.example.com?x", "clerk.example.com" },
	  "https" },
	{ "identifier",
	  { "%u", "%u@way.cloud", "100%%-%u", "fixed-name" },
	  { "%s@way.cloud", "%", "%u%", "%U" },
	  "%u" },
	{ "cafile",
	  { "@FILE@" },
	  { "/nonexistent/ca.pem", "ca.pem", "@DIR@" },
	  "not an existing file" },
	{ "capath",
	  { "@DIR@", "/" },
	  { "/nonexistent/certs", "certs", "@FILE@" },
	  "not an existing directory" },
	{ "timeout",
	  { "5", "10", "60", "060" },
	  { "0", "61", "abc", "-1", "1.5", "10s" },
	  "1 to 60" },
	{ "connect_timeout",
	  { "1", "5", "10", "09" },
	  { "0", "61", "five", "+5", "0x5", "1000" },
	  "1 to 60" },
	{ "proxy",
	  { "http://proxy.example:3128", "HTTP://10.0.0.1", "http://u:p%40ss@[::1]:8080" },
	  { "ftp://proxy.example", "http://", "http:///x", "proxy.example:3128",
	    "https://proxy.example", "socks5h://127.0.0.1:1080" },
	  "SOCKS proxies are not supported" },
	{ "api_version",
	  { "2026-05-12", "2021-02-05" },
	  { "latest", "2025-4-10", "2025/04/10", "2025-04-100", "20250410", "2025-04-1a" },
	  "YYYY-MM-DD" },
	{ "debug",
	  { "yes", "no", "TRUE", "off" },
	  { "maybe", "2", "yess", "enabled" },
	  "yes or no" },
	{ "use_first_pass", { "1", "0", "On", "false" }, { "sure", "-1" }, "yes or no" },
	{ "try_first_pass", { "true", "No" }, { "y", "n" }, "yes or no" },
	{ "factor",
	  { "totp", "phone_code", "email_code", "backup_code" },
	  { "TOTP", "sms", "email_link", "passkey" },
	  "totp, phone_code" },
	{ "max_tries", { "1", "3", "10" }, { "0", "11", "three", "-1" }, "1 to 10" },
	{ "export_env", { "yes", "no" }, { "sometimes" }, "yes or no" },
	{ "jwt_template",
	  { "pam", "my-template_2" },
	  { "a/b", "x y", "t.json" },
	  "letters, digits" },
	{ "jwt_key",
	  { "@FILE@", "MIIBIjANBgkq" },
	  { "/nonexistent/key.pem" },
	  "not an existing file" },
	{ "organization", { "org_2abc", "ops" }, { "org/../x", "o p" }, "letters, digits" },
	{ "require_organization", { "no", "off" }, { "2" }, "yes or no" },
	{ "allowed_roles",
	  { "admin", "admin,member", "org:admin" },
	  { "admin member", "a;b" },
	  "letters, digits" },
	{ "authorize", { "auth", "account" }, { "session", "AUTH" }, "auth or account" },
	{ "end_session", { "close", "auth", "never" }, { "logout", "" }, "close, auth or never" },
	{ "cached_auth_timeout",
	  { "0", "30", "600" },
	  { "601", "-1", "1m", "99999" },
	  "0 (off) to 600" },
	{ "secret_key_file",
	  { "@FILE@" },
	  { "/nonexistent/sk", "sk", "@DIR@" },
	  "not an existing file" },
	{ "backend_api",
	  { "https://api.clerk.com", "https://127.0.0.1:8444/" },
	  { "http://api.clerk.com", "https://api.clerk.com?v=1" },
	  "https" },
	{ "state_dir",
	  { "/var/lib/pam_clerk", "none", "@DIR@" },
	  { "var/lib/pam_clerk", "./state", "None" },
	  "absolute path or none" },
};

static void test_file_every_key(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof key_cases / sizeof key_cases[0]; i++) {
		const struct key_case *k = &key_cases[i];
		static char text[2 * PATH_MAX];
		char where[128];
		const char *argv[] = { conf_arg };
		struct conf c;
		snprintf(where, sizeof where, "pam_clerk.conf:3: key '%s'", k->key);
		for (size_t g = 0; g < 4 && k->good[g] != NULL; g++) {
			snprintf(text, sizeof text,
				 "frontend_api = https://127.0.0.1:8443\n# x\n%s = %s\n", k->key,
				 subst(k->good[g]));
			write_conf(text);
			expect_ok(&c, ARGC(argv), argv, NULL);
			conf_free(&c);
		}
		for (size_t b = 0; b < 6 && k->bad[b] != NULL; b++) {
			snprintf(text, sizeof text,
				 "frontend_api = https://127.0.0.1:8443\n# x\n%s = %s\n", k->key,
				 subst(k->bad[b]));
			write_conf(text);
			expect_fail(ARGC(argv), argv, NULL, where, b == 0 ? k->why : NULL);
		}
	}
}

static void test_args_every_key_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof key_cases / sizeof key_cases[0]; i++) {
		const struct key_case *k = &key_cases[i];
		char where[128], arg[PATH_MAX + 64];
		snprintf(where, sizeof where, "module argument '%s'", k->key);
		for (size_t b = 0; b < 6 && k->bad[b] != NULL; b++) {
			snprintf(arg, sizeof arg, "%s=%s", k->key, subst(k->bad[b]));
			const char *argv[] = { "frontend_api=https://127.0.0.1:8443", arg };
			expect_fail(ARGC(argv), argv, NULL, where, b == 0 ? k->why : NULL);
		}
	}
}

static void test_file_errors_name_line_and_key(void **state)
{
	(void)state;
	const char *argv[] = { conf_arg };

	write_conf("publishable_key = " KEY_COM "\n\n# comment\n\ntimeout = 0\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:5: key 'timeout'", "'0'");

	write_conf("publishable_key = " KEY_COM "\ncolour = blue\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'colour'", "unknown key");

	write_conf("publishable_key = " KEY_COM "\ntimeout\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'timeout'", "needs a value");

	write_conf("publishable_key = " KEY_COM "\ntimeout =   \n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'timeout'", "needs a value");

	write_conf("publishable_key = " KEY_COM "\nconf = /etc/other.conf\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'conf'",
		    "only allowed as a module argument");

	write_conf("publishable_key = " KEY_COM "\r\ndebug = maybe\r\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'debug'", "'maybe'");

	write_conf("= value\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:1: key ''", "unknown key");

	/* The first bad line is the one reported. */
	write_conf("timeout = x\ncolour = blue\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:1: key 'timeout'", NULL);

	/* Line numbers count lines, not settings, with CRLF too. */
	write_conf("\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nproxy = gopher://x\r\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:10: key 'proxy'", NULL);
}

static void test_file_control_chars_and_length(void **state)
{
	(void)state;
	const char *argv[] = { conf_arg };

	write_conf("publishable_key = " KEY_COM "\nidentifier = a\tb %u\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'identifier'",
		    "control character");
	write_conf("publishable_key = " KEY_COM "\nproxy = http://a\x7f.example\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'proxy'", "control character");
	write_conf("publishable_key = " KEY_COM "\nproxy = http://a\x1b.example\n");
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'proxy'", "control character");
	assert_null(strchr(err, '\x1b'));

	/* A value of 1025 characters is refused; the key it names is given. */
	static char text[4096];
	int n = snprintf(text, sizeof text, "publishable_key = " KEY_COM "\nproxy = http://");
	memset(text + n, 'p', 1025 - 7);
	text[n + 1025 - 7] = '\n';
	text[n + 1025 - 7 + 1] = '\0';
	write_conf(text);
	expect_fail(ARGC(argv), argv, NULL, "pam_clerk.conf:2: key 'proxy'", "longer than");
}

static void test_file_nul_byte(void **state)
{
	(void)state;
	static const char text[] = "publishable_key = " KEY_COM "\ndebug\0 = no\n";
	write_file_n("pam_clerk.conf", text, sizeof text - 1, 0600);
	const char *argv[] = { conf_arg };
	expect_fail(ARGC(argv), argv, NULL, "NUL", NULL);
}

static void test_file_size_cap(void **state)
{
	(void)state;
	static char text[64 * 1024 + 2];
	const char *argv[] = { conf_arg };
	int n = snprintf(text, sizeof text, "publishable_key = " KEY_COM "\n");
	/* Exactly 64 KiB: comment lines fill the rest. */
	memset(text + n, '#', 64 * 1024 - (size_t)n);
	for (size_t i = (size_t)n + 99; i < 64 * 1024; i += 100)
		text[i] = '\n';
	write_file_n("pam_clerk.conf", text, 64 * 1024, 0600);
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	conf_free(&c);
	/* One byte more is refused. */
	text[64 * 1024] = '\n';
	write_file_n("pam_clerk.conf", text, 64 * 1024 + 1, 0600);
	expect_fail(ARGC(argv), argv, NULL, "larger than 64 KiB", "pam_clerk.conf");
}

static void test_file_permissions(void **state)
{
	(void)state;
	static const char text[] = "publishable_key = " KEY_COM "\n";
	const char *argv[] = { conf_arg };
	struct conf c;

	static const mode_t ok_modes[] = { 0600, 0644, 0400, 0444, 0640, 0700 };
	for (size_t i = 0; i < sizeof ok_modes / sizeof ok_modes[0]; i++) {
		write_file_n("pam_clerk.conf", text, sizeof text - 1, ok_modes[i]);
		expect_ok(&c, ARGC(argv), argv, NULL);
		conf_free(&c);
	}
	static const mode_t bad_modes[] = { 0620, 0602, 0666, 0660, 0606, 0622 };
	for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
		write_file_n("pam_clerk.conf", text, sizeof text - 1, bad_modes[i]);
		expect_fail(ARGC(argv), argv, NULL, "writable by group or others", conf_path);
		/* Also when it is only the default path: it exists, so it counts. */
		expect_fail(0, NULL, conf_path, "writable by group or others", NULL);
	}
}

static void test_file_owner(void **state)
{
	(void)state;
	static const char text[] = "publishable_key = " KEY_COM "\n";
	const char *path = write_file_n("pam_clerk.conf", text, sizeof text - 1, 0644);
	if (geteuid() != 0) {
		/* Only root can give a file away; the running user's own file is fine. */
		const char *argv[] = { conf_arg };
		struct conf c;
		expect_ok(&c, ARGC(argv), argv, NULL);
		conf_free(&c);
		skip();
	}
	assert_int_equal(chown(path, 65534, 65534), 0);
	const char *argv[] = { conf_arg };
	expect_fail(ARGC(argv), argv, NULL, "not owned by root", conf_path);
}

static void test_file_symlink_refused(void **state)
{
	(void)state;
	static const char text[] = "publishable_key = " KEY_COM "\n";
	const char *target = write_file_n("target.conf", text, sizeof text - 1, 0600);
	unlink(conf_path);
	assert_int_equal(symlink(target, conf_path), 0);
	const char *argv[] = { conf_arg };
	expect_fail(ARGC(argv), argv, NULL, "symbolic link", conf_path);
	/* A symlink at the default path is an error too, not "missing". */
	const char *a2[] = { "publishable_key=" KEY_COM };
	expect_fail(ARGC(a2), a2, conf_path, "symbolic link", NULL);
	/* A dangling one as well. */
	unlink(conf_path);
	assert_int_equal(symlink("/nonexistent/pam_clerk.conf", conf_path), 0);
	expect_fail(ARGC(a2), a2, conf_path, "symbolic link", NULL);
	unlink(conf_path);
}

static void test_file_directory_refused(void **state)
{
	(void)state;
	char arg[PATH_MAX + 16];
	snprintf(arg, sizeof arg, "conf=%s", tmpdir);
	const char *argv[] = { "publishable_key=" KEY_COM, arg };
	expect_fail(ARGC(argv), argv, NULL, "not a regular file", tmpdir);
	const char *a2[] = { "publishable_key=" KEY_COM };
	expect_fail(ARGC(a2), a2, tmpdir, "not a regular file", NULL);
}

static void test_file_fifo_refused(void **state)
{
	(void)state;
	/* Must not block waiting for a writer. */
	char fifo[PATH_MAX + 32];
	snprintf(fifo, sizeof fifo, "%s/fifo.conf", tmpdir);
	unlink(fifo);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	char arg[PATH_MAX + 48];
	snprintf(arg, sizeof arg, "conf=%s", fifo);
	const char *argv[] = { "publishable_key=" KEY_COM, arg };
	expect_fail(ARGC(argv), argv, NULL, "not a regular file", NULL);
	unlink(fifo);
}

/* --- cross-key checks ---------------------------------------------------- */

static void test_connect_timeout_vs_timeout(void **state)
{
	(void)state;
	const char *a1[] = { "publishable_key=" KEY_COM, "timeout=5", "connect_timeout=6" };
	expect_fail(ARGC(a1), a1, NULL, "connect_timeout", "timeout (5 s)");
	const char *a2[] = { "publishable_key=" KEY_COM, "timeout=7", "connect_timeout=7" };
	struct conf c;
	expect_ok(&c, ARGC(a2), a2, NULL);
	assert_int_equal(c.timeout, 7);
	assert_int_equal(c.connect_timeout, 7);
	conf_free(&c);
	const char *a3[] = { "publishable_key=" KEY_COM, "timeout=60", "connect_timeout=60" };
	expect_ok(&c, ARGC(a3), a3, NULL);
	conf_free(&c);
	/* Across the file and the arguments. */
	write_conf("publishable_key = " KEY_COM "\nconnect_timeout = 30\n");
	const char *a4[] = { conf_arg, "timeout=20" };
	expect_fail(ARGC(a4), a4, NULL, "connect_timeout (30 s)", "timeout (20 s)");
}

/* Only timeout is set, below connect_timeout's default of 5: the setting the
 * administrator did not make must not turn a valid one into an error. */
/* state_dir = none keeps nothing: the module sees no directory at all. */
static void test_state_dir_none(void **state)
{
	(void)state;
	const char *argv[] = { "publishable_key=" KEY_COM, "state_dir=none" };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_null(c.state_dir);
	conf_free(&c);
}

static void test_short_timeout_alone(void **state)
{
	(void)state;
	const char *argv[] = { "publishable_key=" KEY_COM, "timeout=3" };
	struct conf c;
	expect_ok(&c, ARGC(argv), argv, NULL);
	assert_int_equal(c.timeout, 3);
	assert_true(c.connect_timeout >= 1 && c.connect_timeout <= 3);
	conf_free(&c);
}

/* --- conf_key_name ------------------------------------------------------- */

static void test_key_names(void **state)
{
	(void)state;
	static const char *const want[] = {
		"conf",
		"publishable_key",
		"frontend_api",
		"issuer",
		"identifier",
		"cafile",
		"capath",
		"timeout",
		"connect_timeout",
		"proxy",
		"api_version",
		"debug",
		"use_first_pass",
		"try_first_pass",
		"factor",
		"max_tries",
		"state_dir",
		"export_env",
		"jwt_template",
		"jwt_key",
		"organization",
		"require_organization",
		"allowed_roles",
		"authorize",
		"end_session",
		"secret_key_file",
		"backend_api",
		"offline_cache",
		"offline_max_failures",
		"cached_auth_timeout",
		/* attack protection (issue 14) */
		"local_accounts_only",
		"fail_limit",
		"fail_window",
		"fail_lock",
		"fail_rhost_limit",
		"signin_rate",
		"attempt_rate",
	};
	const size_t nwant = sizeof want / sizeof want[0];
	size_t n = 0;
	while (conf_key_name(n) != NULL)
		n++;
	assert_int_equal(n, nwant);
	assert_null(conf_key_name(nwant));
	assert_null(conf_key_name(1000));
	assert_null(conf_key_name(SIZE_MAX));
	for (size_t i = 0; i < nwant; i++) {
		bool found = false;
		for (size_t j = 0; j < nwant; j++)
			found = found || strcmp(conf_key_name(j), want[i]) == 0;
		if (!found)
			print_error("key %s missing from conf_key_name\n", want[i]);
		assert_true(found);
		for (size_t j = i + 1; j < nwant; j++)
			assert_string_not_equal(conf_key_name(i), conf_key_name(j));
	}
}

/* Every listed key is one conf_load knows (no "unknown key" for it). */
static void test_key_names_accepted(void **state)
{
	(void)state;
	for (size_t i = 0; conf_key_name(i) != NULL; i++) {
		char arg[128];
		snprintf(arg, sizeof arg, "%s=\x01", conf_key_name(i));
		const char *argv[] = { "publishable_key=" KEY_COM, arg };
		struct conf c;
		assert_int_equal(load(&c, ARGC(argv), argv, NULL), -1);
		assert_null(strstr(err, "unknown key"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_args_only_defaults, setup),
		cmocka_unit_test_setup(test_args_every_key, setup),
		cmocka_unit_test_setup(test_frontend_api, setup),
		cmocka_unit_test_setup(test_frontend_api_wins_over_key, setup),
		cmocka_unit_test_setup(test_no_instance, setup),
		cmocka_unit_test_setup(test_args_flags, setup),
		cmocka_unit_test_setup(test_state_dir_none, setup),
		cmocka_unit_test_setup(test_args_errors, setup),
		cmocka_unit_test_setup(test_args_every_key_bad, setup),
		cmocka_unit_test_setup(test_unknown_key_shown_safely, setup),
		cmocka_unit_test_setup(test_file_explicit, setup),
		cmocka_unit_test_setup(test_file_default_path, setup),
		cmocka_unit_test_setup(test_file_default_missing_is_fine, setup),
		cmocka_unit_test_setup(test_file_explicit_missing_is_error, setup),
		cmocka_unit_test_setup(test_file_args_win, setup),
		cmocka_unit_test_setup(test_file_later_line_wins, setup),
		cmocka_unit_test_setup(test_file_last_conf_arg_wins, setup),
		cmocka_unit_test_setup(test_file_syntax, setup),
		cmocka_unit_test_setup(test_file_empty, setup),
		cmocka_unit_test_setup(test_file_every_key, setup),
		cmocka_unit_test_setup(test_file_errors_name_line_and_key, setup),
		cmocka_unit_test_setup(test_file_control_chars_and_length, setup),
		cmocka_unit_test_setup(test_file_nul_byte, setup),
		cmocka_unit_test_setup(test_file_size_cap, setup),
		cmocka_unit_test_setup(test_file_permissions, setup),
		cmocka_unit_test_setup(test_file_owner, setup),
		cmocka_unit_test_setup(test_file_symlink_refused, setup),
		cmocka_unit_test_setup(test_file_directory_refused, setup),
		cmocka_unit_test_setup(test_file_fifo_refused, setup),
		cmocka_unit_test_setup(test_connect_timeout_vs_timeout, setup),
		cmocka_unit_test_setup(test_short_timeout_alone, setup),
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_key_names_accepted),
		cmocka_unit_test(test_proxy_password_only_in_a_private_file),
		cmocka_unit_test(test_temp_tree_removed), /* last */
	};
	return cmocka_run_group_tests(tests, group_setup, NULL);
}
