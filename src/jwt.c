#include "config.h"

#include "jwt.h"

#include "b64.h"
#include "buf.h"
#include "json_strict.h"

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JWT_MAX (16 * 1024)

static struct json_object *parse_object(const char *text, size_t len)
{
	char err[80];
	return json_parse_strict(text, len, json_type_object, err, sizeof err);
}

static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	const char *s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

static int copy_member(struct json_object *o, const char *key, char *out, size_t n)
{
	const char *s = str_member(o, key);
	if (s == NULL || strlen(s) >= n)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* ---- keys ---- */

static BIGNUM *b64_bignum(const char *s)
{
	size_t n = 0;
	unsigned char *raw = s ? b64_decode(s, strlen(s), 1, &n) : NULL;
	BIGNUM *bn = raw && n > 0 && n <= 1024 ? BN_bin2bn(raw, (int)n, NULL) : NULL;
	free(raw);
	return bn;
}

static EVP_PKEY *rsa_from_jwk(struct json_object *jwk)
{
	BIGNUM *n = b64_bignum(str_member(jwk, "n"));
	BIGNUM *e = b64_bignum(str_member(jwk, "e"));
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	if (n != NULL && e != NULL && bld != NULL && BN_num_bits(n) >= 2048 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1 &&
	    (params = OSSL_PARAM_BLD_to_param(bld)) != NULL &&
	    (ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) != NULL &&
	    EVP_PKEY_fromdata_init(ctx) == 1)
		EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

int jwt_keys_from_jwks(struct jwt_keys *k, const char *json, size_t len, char *err, size_t errsize)
{
	memset(k, 0, sizeof *k);
	struct json_object *root = parse_object(json, len), *keys;
	if (root == NULL || !json_object_object_get_ex(root, "keys", &keys) ||
	    !json_object_is_type(keys, json_type_array)) {
		json_object_put(root);
		snprintf(err, errsize, "not a JWKS document");
		return -1;
	}
	size_t count = json_object_array_length(keys);
	for (size_t i = 0; i < count && k->n < JWT_KEYS_MAX; i++) {
		struct json_object *jwk = json_object_array_get_idx(keys, i);
		const char *kty =
			json_object_is_type(jwk, json_type_object) ? str_member(jwk, "kty") : NULL;
		const char *alg = kty ? str_member(jwk, "alg") : NULL;
		const char *use = kty ? str_member(jwk, "use") : NULL;
		if (kty == NULL || strcmp(kty, "RSA") != 0 || (alg && strcmp(alg, "RS256") != 0) ||
		    (use && strcmp(use, "sig") != 0) ||
		    copy_member(jwk, "kid", k->key[k->n].kid, sizeof k->key[k->n].kid) != 0 ||
		    k->key[k->n].kid[0] == '\0')
			continue;
		if ((k->key[k->n].pkey = rsa_from_jwk(jwk)) != NULL)
			k->n++;
	}
	json_object_put(root);
	if (k->n == 0) {
		snprintf(err, errsize, "JWKS has no usable RS256 key");
		return -1;
	}
	return 0;
}

/* The Dashboard's one-line form: the PEM body, maybe with its armour. */
static EVP_PKEY *key_from_line(const char *line)
{
	struct buf b64;
	EVP_PKEY *pkey = NULL;
	buf_init(&b64, 64 * 1024);
	const char *p = line;
	const char *begin = strstr(p, "-----BEGIN PUBLIC KEY-----");
	if (begin != NULL)
		p = begin + strlen("-----BEGIN PUBLIC KEY-----");
	const char *end = strstr(p, "-----END PUBLIC KEY-----");
	size_t n = end ? (size_t)(end - p) : strlen(p);
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\n' && p[i] != '\r' && p[i] != '\t' &&
		    !(p[i] == '\\' && p[i + 1] == 'n' && ++i))
			buf_append(&b64, &p[i], 1);
	size_t len = 0;
	unsigned char *der = b64.len ? b64_decode(buf_str(&b64), b64.len, 0, &len) : NULL;
	const unsigned char *q = der;
	if (der != NULL)
		pkey = d2i_PUBKEY(NULL, &q, (long)len);
	free(der);
	buf_wipe(&b64);
	return pkey;
}

int jwt_keys_from_pem(struct jwt_keys *k, const char *path_or_line, char *err, size_t errsize)
{
	memset(k, 0, sizeof *k);
	EVP_PKEY *pkey = NULL;
	if (path_or_line[0] == '/') {
		FILE *f = fopen(path_or_line, "re");
		if (f != NULL) {
			pkey = PEM_read_PUBKEY(f, NULL, NULL, NULL);
			fclose(f);
		}
	} else {
		pkey = key_from_line(path_or_line);
	}
	if (pkey == NULL || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA ||
	    EVP_PKEY_get_bits(pkey) < 2048) {
		EVP_PKEY_free(pkey);
		snprintf(err, errsize, "jwt_key is not an RSA public key of 2048 bits or more");
		return -1;
	}
	k->key[0].pkey = pkey;
	k->n = 1;
	return 0;
}

void jwt_keys_free(struct jwt_keys *k)
{
	for (size_t i = 0; i < k->n; i++)
		EVP_PKEY_free(k->key[i].pkey);
	memset(k, 0, sizeof *k);
}

/* ---- verification ---- */

static struct json_object *decode_part(const char *p, size_t n)
{
	size_t len = 0;
	unsigned char *raw = b64_decode(p, n, 1, &len);
	struct json_object *o = raw ? parse_object((const char *)raw, len) : NULL;
	free(raw);
	return o;
}

static int number_member(struct json_object *o, const char *key, long long *out, int required)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v))
		return required ? -1 : 0;
	if (!json_object_is_type(v, json_type_int))
		return -1;
	*out = (long long)json_object_get_int64(v);
	return 0;
}

static int read_org(struct json_object *payload, struct jwt_claims *c)
{
	struct json_object *o;
	if (json_object_object_get_ex(payload, "o", &o) && o != NULL) {
		if (!json_object_is_type(o, json_type_object) ||
		    copy_member(o, "id", c->org_id, sizeof c->org_id) != 0)
			return -1;
		if (str_member(o, "slg") && copy_member(o, "slg", c->org_slug, sizeof c->org_slug))
			return -1;
		if (str_member(o, "rol") && copy_member(o, "rol", c->org_role, sizeof c->org_role))
			return -1;
		return 0;
	}
	/* v1 claims; absent means no active organization. */
	if (str_member(payload, "org_id") == NULL)
		return 0;
	char role[sizeof c->org_role + 4] = "";
	if (copy_member(payload, "org_id", c->org_id, sizeof c->org_id) != 0 ||
	    (str_member(payload, "org_slug") &&
	     copy_member(payload, "org_slug", c->org_slug, sizeof c->org_slug) != 0) ||
	    (str_member(payload, "org_role") &&
	     copy_member(payload, "org_role", role, sizeof role) != 0))
		return -1;
	const char *r = strncmp(role, "org:", 4) == 0 ? role + 4 : role;
	if (strlen(r) >= sizeof c->org_role)
		return -1;
	memcpy(c->org_role, r, strlen(r) + 1);
	return 0;
}

static int signature_ok(EVP_PKEY *pkey, const char *signed_part, size_t n, const char *sig64)
{
	size_t siglen = 0;
	unsigned char *sig = b64_decode(sig64, strlen(sig64), 1, &siglen);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int ok = sig != NULL && md != NULL &&
		 EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
		 EVP_DigestVerify(md, sig, siglen, (const unsigned char *)signed_part, n) == 1;
	EVP_MD_CTX_free(md);
	free(sig);
	return ok;
}

#define FAIL(...)                                                                                  \
	do {                                                                                       \
		snprintf(err, errsize, __VA_ARGS__);                                               \
		goto out;                                                                          \
	} while (0)

enum jwt_result jwt_verify(const char *jwt, const struct jwt_keys *keys, const char *issuer,
			   const char *sid, const char *sub, time_t now, struct jwt_claims *claims,
			   char *err, size_t errsize)
{
	enum jwt_result result = JWT_BAD;
	struct json_object *header = NULL, *payload = NULL;
	memset(claims, 0, sizeof *claims);

	size_t len = strnlen(jwt, JWT_MAX + 1);
	const char *dot1 = memchr(jwt, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - jwt)) : NULL;
	if (len > JWT_MAX || dot1 == NULL || dot2 == NULL || strchr(dot2 + 1, '.') != NULL)
		FAIL("not a compact JWS");
	if ((header = decode_part(jwt, (size_t)(dot1 - jwt))) == NULL)
		FAIL("unreadable header");
	const char *alg = str_member(header, "alg");
	const char *typ = str_member(header, "typ");
	const char *kid = str_member(header, "kid");
	struct json_object *crit;
	/* RS256 only: never "none", never HMAC with the public key as secret. */
	if (alg == NULL || strcmp(alg, "RS256") != 0)
		FAIL("algorithm %.20s refused (RS256 only)", alg ? alg : "(none)");
	if (typ != NULL && strcmp(typ, "JWT") != 0)
		FAIL("typ %.20s refused", typ);
	if (json_object_object_get_ex(header, "crit", &crit))
		FAIL("crit header refused");

	EVP_PKEY *pkey = NULL;
	for (size_t i = 0; i < keys->n && pkey == NULL; i++)
		if (keys->key[i].kid[0] == '\0' ||
		    (kid != NULL && strcmp(kid, keys->key[i].kid) == 0))
			pkey = keys->key[i].pkey;
	if (pkey == NULL) {
		result = JWT_UNKNOWN_KID;
		FAIL("no key with kid %.60s", kid ? kid : "(none)");
	}
	if (!signature_ok(pkey, jwt, (size_t)(dot2 - jwt), dot2 + 1))
		FAIL("bad signature");

	/* Only now, with the signature good, are the claims worth reading. */
	if ((payload = decode_part(dot1 + 1, (size_t)(dot2 - dot1 - 1))) == NULL)
		FAIL("unreadable payload");
	long long nbf = 0, iat = 0;
	const char *iss = str_member(payload, "iss");
	if (iss == NULL || strcmp(iss, issuer) != 0)
		FAIL("iss %.100s is not the expected %.100s", iss ? iss : "(none)", issuer);
	/* A pending session's token (tasks left) is not a signed-in user's. */
	const char *sts = str_member(payload, "sts");
	if (json_object_object_get_ex(payload, "sts", NULL) &&
	    (sts == NULL || strcmp(sts, "active")))
		FAIL("sts %.20s: the session is not active", sts ? sts : "(not a string)");
	if (number_member(payload, "exp", &claims->exp, 1) != 0 ||
	    number_member(payload, "nbf", &nbf, 0) != 0 ||
	    number_member(payload, "iat", &iat, 0) != 0)
		FAIL("exp, nbf or iat missing or not a number");
	/* Written so that hostile values (INT64_MAX, INT64_MIN) cannot overflow. */
	if (claims->exp < (long long)now - JWT_SKEW)
		FAIL("expired");
	if (nbf > (long long)now + JWT_SKEW || iat > (long long)now + JWT_SKEW)
		FAIL("not valid yet (nbf or iat in the future)");
	if (copy_member(payload, "sub", claims->sub, sizeof claims->sub) != 0 ||
	    (sub != NULL && strcmp(claims->sub, sub) != 0))
		FAIL("sub is not the signed-in user");
	/* sid NULL: a JWT template's token, which has only its template's claims
	 * (no sid) and decides nothing, so its organization claims are not read. */
	if (sid != NULL && (copy_member(payload, "sid", claims->sid, sizeof claims->sid) != 0 ||
			    strcmp(claims->sid, sid) != 0))
		FAIL("sid is not the session just created");
	long long v = 1;
	if (sid != NULL &&
	    (number_member(payload, "v", &v, 0) != 0 || read_org(payload, claims) != 0))
		FAIL("malformed organization claims");
	claims->version = (int)v;
	result = JWT_OK;
	err[0] = '\0';
out:
	json_object_put(header);
	json_object_put(payload);
	if (result != JWT_OK)
		memset(claims, 0, sizeof *claims);
	return result;
}
