/* The process's JWKS copy (jwks.c, issue 15): a host that keeps the module
 * loaded verifies many logins with one fetch, without state_dir; an unknown
 * kid fetches once more; after the 10 minutes (or jwks_cache_clear) the next
 * login fetches again. Tokens are signed here with a fresh RSA key. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "budget.h"
#include "jwks.h"

#include "fake_fapi.h"

static EVP_PKEY *key1, *key2;
static char jwks1[4096], jwks12[8192];

/* base64url without padding of n bytes. */
static void b64url(const unsigned char *in, size_t n, char *out, size_t outsize)
{
	unsigned char tmp[2048];
	assert_true(4 * ((n + 2) / 3) < sizeof tmp && 4 * ((n + 2) / 3) < outsize);
	int len = EVP_EncodeBlock(tmp, in, (int)n);
	size_t o = 0;
	for (int i = 0; i < len && tmp[i] != '='; i++)
		out[o++] = tmp[i] == '+' ? '-' : tmp[i] == '/' ? '_' : (char)tmp[i];
	out[o] = '\0';
}

static void jwk(EVP_PKEY *k, const char *kid, char *out, size_t outsize)
{
	BIGNUM *n = NULL;
	unsigned char raw[600];
	char n64[1100];
	assert_int_equal(EVP_PKEY_get_bn_param(k, OSSL_PKEY_PARAM_RSA_N, &n), 1);
	int len = BN_bn2bin(n, raw);
	BN_free(n);
	b64url(raw, (size_t)len, n64, sizeof n64);
	snprintf(out, outsize,
		 "{\"kty\":\"RSA\",\"kid\":\"%s\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"%s\","
		 "\"e\":\"AQAB\"}",
		 kid, n64);
}

/* A session token for sess_1/user_1 from FAPI, signed by k with kid. */
static void token(EVP_PKEY *k, const char *kid, char *out, size_t outsize)
{
	char head[200], body[400], h64[300], b64[600], sig64[800];
	long now = (long)time(NULL);
	snprintf(head, sizeof head, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"%s\"}", kid);
	snprintf(body, sizeof body,
		 "{\"iss\":\"%s\",\"sub\":\"user_1\",\"sid\":\"sess_1\",\"iat\":%ld,\"nbf\":%ld,"
		 "\"exp\":%ld}",
		 FAPI, now - 5, now - 5, now + 60);
	b64url((const unsigned char *)head, strlen(head), h64, sizeof h64);
	b64url((const unsigned char *)body, strlen(body), b64, sizeof b64);
	char signing[1000];
	snprintf(signing, sizeof signing, "%s.%s", h64, b64);
	unsigned char sig[512];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k), 1);
	assert_int_equal(
		EVP_DigestSign(md, sig, &siglen, (const unsigned char *)signing, strlen(signing)),
		1);
	EVP_MD_CTX_free(md);
	b64url(sig, siglen, sig64, sizeof sig64);
	snprintf(out, outsize, "%s.%s", signing, sig64);
}

static int group_setup(void **state)
{
	(void)state;
	char a[1400], b[1400];
	key1 = EVP_RSA_gen(2048);
	key2 = EVP_RSA_gen(2048);
	if (key1 == NULL || key2 == NULL)
		return -1;
	jwk(key1, "k1", a, sizeof a);
	jwk(key2, "k2", b, sizeof b);
	snprintf(jwks1, sizeof jwks1, "{\"keys\":[%s]}", a);
	snprintf(jwks12, sizeof jwks12, "{\"keys\":[%s,%s]}", b, a);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(key1);
	EVP_PKEY_free(key2);
	return 0;
}

/* Verify jwt with the process's copy (no state_dir); the fetches it made. */
static int verify(const char *jwt, const struct step *script, size_t n, enum outcome want)
{
	struct budget budget;
	struct jwt_claims claims;
	char err[300] = "";
	int requests = 0;
	budget_start(&budget, 10000);
	struct jwks_source src = { FAPI, &F.conn, &budget, NULL, NULL, NULL };
	F.script = script;
	F.n = n;
	F.next = 0;
	enum outcome o = jwks_verify(&src, jwt, "sess_1", "user_1", time(NULL), &claims, &requests,
				     err, sizeof err);
	if (o != want)
		fail_msg("outcome %d, want %d: %s", (int)o, (int)want, err);
	assert_int_equal(F.next, F.n);
	return requests;
}

static void test_one_fetch_for_many_logins(void **state)
{
	(void)state;
	char jwt[2000];
	const struct step fetch1[] = { { JWKS, 200, jwks1, NULL, HTTP_OK } };
	jwks_cache_clear();
	token(key1, "k1", jwt, sizeof jwt);
	assert_int_equal(verify(jwt, fetch1, 1, OUTCOME_SUCCESS), 1);
	for (int i = 0; i < 20; i++)
		assert_int_equal(verify(jwt, NULL, 0, OUTCOME_SUCCESS), 0);
	/* Forgotten: the next login fetches again. */
	jwks_cache_clear();
	assert_int_equal(verify(jwt, fetch1, 1, OUTCOME_SUCCESS), 1);
}

static void test_unknown_kid_fetches_once_more(void **state)
{
	(void)state;
	char jwt1[2000], jwt2[2000];
	const struct step fetch1[] = { { JWKS, 200, jwks1, NULL, HTTP_OK } };
	const struct step fetch12[] = { { JWKS, 200, jwks12, NULL, HTTP_OK } };
	jwks_cache_clear();
	token(key1, "k1", jwt1, sizeof jwt1);
	token(key2, "k2", jwt2, sizeof jwt2);
	assert_int_equal(verify(jwt1, fetch1, 1, OUTCOME_SUCCESS), 1);
	/* A rotated key: one fetch, and the copy now knows both. */
	assert_int_equal(verify(jwt2, fetch12, 1, OUTCOME_SUCCESS), 1);
	assert_int_equal(verify(jwt2, NULL, 0, OUTCOME_SUCCESS), 0);
	assert_int_equal(verify(jwt1, NULL, 0, OUTCOME_SUCCESS), 0);
	/* A kid the fresh JWKS does not have either: refused, no loop. */
	jwks_cache_clear();
	assert_int_equal(verify(jwt2, fetch1, 1, OUTCOME_JWT_INVALID), 1);
}

static void test_bad_jwks_is_not_kept(void **state)
{
	(void)state;
	char jwt[2000];
	const struct step bad[] = { { JWKS, 200, "{\"keys\":\"none\"}", NULL, HTTP_OK } };
	const struct step fetch1[] = { { JWKS, 200, jwks1, NULL, HTTP_OK } };
	jwks_cache_clear();
	token(key1, "k1", jwt, sizeof jwt);
	assert_int_equal(verify(jwt, bad, 1, OUTCOME_BAD_RESPONSE), 1);
	assert_int_equal(verify(jwt, fetch1, 1, OUTCOME_SUCCESS), 1);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, fake_setup, fake_teardown)
	const struct CMUnitTest tests[] = {
		T(test_one_fetch_for_many_logins),
		T(test_unknown_kid_fetches_once_more),
		T(test_bad_jwks_is_not_kept),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
