/* Verifying Clerk session JWTs: RS256 only,
 * signature first, then time and identity claims; organization claims in
 * both the v2 ("o") and the v1 (org_id/org_slug/org_role) formats. */
#ifndef PAM_CLERK_JWT_H
#define PAM_CLERK_JWT_H

#include <stddef.h>
#include <time.h>

#define JWT_KEYS_MAX 8
#define JWT_SKEW     5 /* seconds of clock difference tolerated */

struct jwt_keys {
	size_t n;
	struct {
		char kid[128]; /* "" for a pinned key, which matches any kid */
		void *pkey;    /* EVP_PKEY */
	} key[JWT_KEYS_MAX];
};

struct jwt_claims {
	char sub[128];
	char sid[128];
	char org_id[128];
	char org_slug[128];
	char org_role[64]; /* without the v1 "org:" prefix */
	long long exp;
	int version;
};

enum jwt_result {
	JWT_OK,
	JWT_BAD,	 /* malformed, wrong algorithm, bad signature or claims */
	JWT_UNKNOWN_KID, /* signed with a key not in the set: refresh and retry */
};

/* Keys from a JWKS document (RSA keys for RS256; others are skipped).
 * Returns 0, or -1 with a reason. */
int jwt_keys_from_jwks(struct jwt_keys *k, const char *json, size_t len, char *err, size_t errsize);

/* A pinned key: a PEM file path, or the key on one line as the Clerk
 * Dashboard shows it (PEM with or without its BEGIN/END lines). */
int jwt_keys_from_pem(struct jwt_keys *k, const char *path_or_line, char *err, size_t errsize);

void jwt_keys_free(struct jwt_keys *k);

/* Verify jwt against keys; iss must equal issuer exactly, sub the given
 * value when not NULL, and an "sts" claim, when present, be "active". A
 * session token: sid is the session's, its organization claims are read. sid
 * NULL: a JWT template's token, with no sid required and no organization
 * claims read (it decides nothing). Fills claims on JWT_OK. */
enum jwt_result jwt_verify(const char *jwt, const struct jwt_keys *keys, const char *issuer,
			   const char *sid, const char *sub, time_t now, struct jwt_claims *claims,
			   char *err, size_t errsize);

#endif
