#include "config.h"

#include "account.h"

#include "authz.h"
#include "bapi.h"
#include "buf.h"
#include "login.h"

#include <security/_pam_types.h>
#include <stdio.h>
#include <string.h>

void account_check_claims(const struct conf *cfg, bool verified, const struct jwt_claims *claims,
			  struct account_result *out)
{
	memset(out, 0, sizeof *out);
	out->pam_code = PAM_SUCCESS;
	if (!authz_has_rules(cfg))
		return;
	if (!verified)
		snprintf(out->why, sizeof out->why, "no verified session token (rules need one)");
	if (!verified || authz_check(cfg, claims, out->why, sizeof out->why) != 0)
		out->pam_code = PAM_PERM_DENIED;
}

void account_check_backend(const struct conf *cfg, struct http_conn *conn, const char *user,
			   struct account_result *out)
{
	char identifier[LOGIN_IDENTIFIER_MAX];
	struct bapi_user u;
	memset(out, 0, sizeof *out);
	if (conf_expand_identifier(cfg->identifier, user, identifier, sizeof identifier, out->why,
				   sizeof out->why) != 0) {
		out->pam_code = PAM_USER_UNKNOWN;
		out->unnamed = true;
		return;
	}
	char *key = bapi_read_secret(cfg->secret_key_file, out->why, sizeof out->why);
	if (key == NULL) {
		out->config_error = true;
		out->pam_code = PAM_SERVICE_ERR;
		explicit_bzero(identifier, sizeof identifier);
		return;
	}
	enum bapi_result b =
		conn == NULL
			? BAPI_UNAVAILABLE
			: bapi_lookup(cfg->backend_api, conn, cfg->timeout * 1000, key, identifier,
				      authz_has_rules(cfg) ? cfg->organization : NULL, &u, out->why,
				      sizeof out->why);
	secret_free(key);
	if (b == BAPI_FOUND && (u.banned || u.locked)) {
		snprintf(out->why, sizeof out->why, "%s in Clerk", u.banned ? "banned" : "locked");
		out->pam_code = PAM_PERM_DENIED;
	} else if (b == BAPI_FOUND) {
		/* The membership Clerk reports, judged by the same rules as claims. */
		struct jwt_claims c;
		memset(&c, 0, sizeof c);
		if (u.in_org && cfg->organization != NULL) {
			snprintf(c.org_id, sizeof c.org_id, "%s", cfg->organization);
			snprintf(c.org_slug, sizeof c.org_slug, "%s", cfg->organization);
			snprintf(c.org_role, sizeof c.org_role, "%s", u.org_role);
		}
		out->pam_code = authz_check(cfg, &c, out->why, sizeof out->why) == 0
					? PAM_SUCCESS
					: PAM_PERM_DENIED;
	} else {
		out->pam_code = b == BAPI_NOT_FOUND ? PAM_USER_UNKNOWN
				: b == BAPI_REFUSED ? PAM_SERVICE_ERR
						    : PAM_AUTHINFO_UNAVAIL;
		if (b == BAPI_NOT_FOUND)
			snprintf(out->why, sizeof out->why, "no such Clerk user");
	}
	explicit_bzero(identifier, sizeof identifier);
}
