/* What a loaded configuration promises, checked by both conf targets. */
#ifndef PAM_CLERK_FUZZ_CONF_CHECK_H
#define PAM_CLERK_FUZZ_CONF_CHECK_H

#include "fuzz.h"

#include "conf.h"

static inline void check_loaded_conf(int rc, struct conf *c, const char *err, size_t errsize)
{
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		FUZZ_CHECK(memchr(err, '\0', errsize) != NULL && err[0] != '\0');
		/* Nothing is left allocated or half-set after a failure. */
		static const struct conf zero;
		FUZZ_CHECK(memcmp(c, &zero, sizeof zero) == 0);
		return;
	}
	FUZZ_TERMINATED(c->frontend_api);
	FUZZ_CHECK(strncmp(c->frontend_api, "https://", 8) == 0);
	FUZZ_CHECK(c->publishable_key != NULL || c->frontend_api_arg != NULL);
	FUZZ_CHECK(c->timeout >= 1 && c->timeout <= 60);
	FUZZ_CHECK(c->connect_timeout >= 1 && c->connect_timeout <= c->timeout);
	FUZZ_CHECK(c->max_tries >= 1 && c->max_tries <= 10);
	FUZZ_CHECK(c->identifier != NULL && c->api_version != NULL);
	FUZZ_CHECK(strlen(c->api_version) == 10);
	FUZZ_CHECK(c->state_dir == NULL || c->state_dir[0] == '/');
	FUZZ_CHECK(c->cafile == NULL || c->cafile[0] == '/');
	FUZZ_CHECK(c->capath == NULL || c->capath[0] == '/');
	FUZZ_CHECK(c->factor == NULL || strcmp(c->factor, "totp") == 0 ||
		   strcmp(c->factor, "phone_code") == 0 || strcmp(c->factor, "email_code") == 0 ||
		   strcmp(c->factor, "backup_code") == 0);
	/* No control character reaches a value the module sends or logs. */
	const char *values[] = { c->publishable_key, c->frontend_api_arg, c->identifier,
				 c->proxy,	     c->api_version,	  c->state_dir };
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		for (const char *p = values[i]; p != NULL && *p; p++)
			FUZZ_CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
	/* A format the loader accepted expands for any sane user name. */
	char out[2048], why[128];
	FUZZ_CHECK(conf_expand_identifier(c->identifier, "alice", out, sizeof out, why,
					  sizeof why) == 0);
}

#endif
