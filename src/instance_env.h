/* The instance's public settings, as GET /v1/environment tells them
 * (../shared/clerk/FAPI-NOTES.md section 11): what `pam-clerk check` reports
 * to the administrator. PAM-free, never sends a password or a token. */
#ifndef PAM_CLERK_INSTANCE_ENV_H
#define PAM_CLERK_INSTANCE_ENV_H

#include "http.h"

#include <stddef.h>

/* Each flag: 1 on, 0 off, -1 the answer did not say. */
struct instance_env {
	int native_api;		    /* auth_config.native_settings.api_enabled */
	int password_enabled;	    /* user_settings.attributes.password.enabled */
	int second_factor_required; /* user_settings.sign_in.second_factor.required */
	int single_session;	    /* auth_config.single_session_mode */
	int enumeration_protection; /* attack_protection.enumeration_protection.enabled */
	int lockout_enabled;	    /* attack_protection.user_lockout.enabled */
	long lockout_attempts;	    /* .max_attempts, -1 unknown */
	long lockout_minutes;	    /* .duration_in_minutes, -1 unknown */
	int maintenance_mode;
};

/* Read the settings from an environment document. 0, or -1 with the
 * reason in err when it is not one JSON object. */
int instance_env_parse(const char *json, size_t len, struct instance_env *e, char *err,
		       size_t errsize);

/* GET fapi_url/v1/environment over conn, the way the module's requests go
 * (native, Clerk-API-Version, no Authorization). *status gets the HTTP
 * status (0 when none arrived). 0, or -1 with the reason in err. */
int instance_env_fetch(const char *fapi_url, const char *api_version, struct http_conn *conn,
		       long timeout_ms, struct instance_env *e, long *status, char *err,
		       size_t errsize);

#endif
