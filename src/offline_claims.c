#include "config.h"

#include "offline_claims.h"

#include <stdio.h>
#include <string.h>

/* ",a,b,c": three fields of visible ASCII without commas (may be empty). */
bool offline_claims_valid(const char *s)
{
	int commas = 0;
	for (; *s; s++) {
		if (*s <= 0x20 || *s >= 0x7f)
			return false;
		commas += *s == ',';
	}
	return commas == 3;
}

int offline_claims_format(char *out, size_t outsize, const struct jwt_claims *c)
{
	int n = snprintf(out, outsize, ",%s,%s,%s", c->org_id, c->org_slug, c->org_role);
	if (n < 0 || (size_t)n >= outsize || !offline_claims_valid(out)) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

void offline_claims_parse(const char *s, struct jwt_claims *c)
{
	char *fields[3] = { c->org_id, c->org_slug, c->org_role };
	size_t sizes[3] = { sizeof c->org_id, sizeof c->org_slug, sizeof c->org_role };
	memset(c, 0, sizeof *c);
	for (int i = 0; i < 3 && *s == ','; i++) {
		size_t n = strcspn(s + 1, ",");
		if (n < sizes[i])
			memcpy(fields[i], s + 1, n);
		s += 1 + n;
	}
}
