#include "config.h"

#include "authz.h"

#include <stdio.h>
#include <string.h>

int authz_has_rules(const struct conf *cfg)
{
	return cfg->require_organization || cfg->allowed_roles != NULL;
}

/* Is role one of the comma-separated list? "org:admin" and "admin" match. */
static int role_listed(const char *list, const char *role)
{
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, ",");
		const char *item = p;
		if (n > 4 && strncmp(item, "org:", 4) == 0) {
			item += 4;
			n -= 4;
		}
		if (n > 0 && strlen(role) == n && strncmp(item, role, n) == 0)
			return 1;
		p += n + (p[n] == ',');
	}
	return 0;
}

int authz_check(const struct conf *cfg, const struct jwt_claims *c, char *why, size_t n)
{
	const char *want = cfg->organization;
	int in_org = c->org_id[0] != '\0' && (want == NULL || strcmp(c->org_id, want) == 0 ||
					      strcmp(c->org_slug, want) == 0);
	if (cfg->require_organization && !in_org) {
		snprintf(why, n, "not a member of organization %s", want ? want : "(any)");
		return -1;
	}
	if (cfg->allowed_roles != NULL &&
	    (!in_org || !role_listed(cfg->allowed_roles, c->org_role))) {
		snprintf(why, n, "role '%s' is not in allowed_roles",
			 in_org ? c->org_role : "(none)");
		return -1;
	}
	return 0;
}
