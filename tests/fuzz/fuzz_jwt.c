/* Session JWT verification (src/jwt.c), then the organization and role
 * rules (src/authz.c) on the claims it returns. The target holds an RSA
 * test key, so the fuzzer reaches past the signature: with the first
 * byte odd, the rest is header JSON NUL payload JSON, which the target
 * encodes and signs (RS256) itself; with it even, the rest is the token
 * as received. Other bits of the first byte: a broken signature, the key
 * set (kid "k1", a pinned key, or only another kid), whether sid and sub
 * must match. Promises: a token is accepted only when it really is an
 * RS256 signature by the key over its first two parts (checked here with
 * OpenSSL directly) and its iss, sid, sub and times are right; a refusal
 * leaves no claims; the authorization rules agree with a reference. */
#include "config.h"

#include "fuzz.h"

#include "authz.h"
#include "conf.h"
#include "jwt.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#define ISSUER "https://clerk.example.com"
#define NOW    1700000000LL

/* A throw-away 2048-bit key for this target only. */
static const char private_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCwfhQpyMYlnGZm\n"
	"dt45hSU/8+l9mqW+vz13bLJg1R9s6smMCj3lnof8znwbNyZU/LBuUkBiaQr2rdu6\n"
	"JFqDOIxmURp+jJZ5FbkrSJ3NtAKqvW42nMxVaVajrZ5OoBHmPXib2NrzmUMPJwZ+\n"
	"qb0uQRcjfKP4l1Qd36KsiMeAYaLMZGVEthYZ+SvIcX+qXsmfPLxW/BsR3K19iwr8\n"
	"R0pYEobiWlitHY/UWwRHGJZ2uUPdqr8EIiSaniYBfyFLcffWzvj4veeg2RrKirQA\n"
	"a56cLdm40E/3Ofdhy/uXbkXGnCPq5kB3nQyKC4R+U9JXGKgoaFC7i9AYmkSqmuiN\n"
	"eszqmbunAgMBAAECggEAUsiQhJjb+EBH97/BtJEzS7AI0RV8sN/a4O1nLexJdTkb\n"
	"mEgliFK3zmi75bgUjsCHsPd7o61JqzMZYVIz8mDP2h4oozsmSV1bIWZKPnY02glI\n"
	"bO1XGqjyLov9OTvzqV8j91XcPW6h+bWAYmETj2KQi+CmuK+ikPCYyPzPNvSU+/FC\n"
	"2DUJOUfr81XiN+88n8wTH20BHOMgF3yXfA9gGuoHZUnB37HddFz/iQlyQc/EVqS7\n"
	"KmlnfcKSYjN7WDt7pHHVvNKsF8BPXNM6KmB36pPjCEPlng7g2d2rUhrbqA7q/HCZ\n"
	"Vw1PHP/bGY+KCLe4zsivkMTKVqE5NHwPPa/Ez/1rIQKBgQDsUi1k9t/H6gByBNjB\n"
	"7BWwtuHub6il6Y31g0uiFfXKC+d3xzLB7nxZn9uL2r7VgXtYU73joUkvrlAd+tpo\n"
	"ln9XJt231whqgpe2Na0s5CEXLDb2HfTFOOsg81EkTziUrNaJPB2YuPiLh8p9L0/R\n"
	"IEh8Mn9sr2ZYABCt7XjwbYpbGwKBgQC/MH6eskvhXC2EhUyQFfL0elvtU2LKfv8f\n"
	"3ELgTXywc5H3GtoBch/syxLXalw/3sqNPNyxX9kTMx9Pby6P84x5bInNTIbYFDpa\n"
	"c5yuMAG4a9RMAhKr10bxwuAn3wiG2m4BlkACTgBZuLir/ym7GIBQglmLp/+5/CSY\n"
	"8vYl6M3+ZQKBgAYGhl/Hp6cKQV6m3vv60AbEcvhIYo1wag0zfs8wLicrrIgyTQoC\n"
	"0arbV5a2Sh1ZgtKauAHA0APmNua8yarXA4IuXILeebl1gPbFYZf+bRWRLAmUc/Q/\n"
	"YkdhzNTXLEMmMQYowTxuou+z06bjeO6FGzQHeZZE1qAxyDsXDflbYaa3AoGAHDUG\n"
	"aVl60nvsB0I3YoaqeqFW0LPdvmxwLX4sq7Ui8VGLtn5SraXtydzIIdoCVDYFgkL5\n"
	"eH3go/GF7A1GPFy9W+jEh/KDbnvFhDTMZ/KTPmdCQhiIMqwnPmH2+krwkhzF4BwP\n"
	"w4dIi/Qx4sZZnM3nmHkyxuT5WLI3oA0wfbVUNvUCgYAK+62a9sq8Kmk+KSTiGXiP\n"
	"palzr9stPFDinLLelAHgb1GhHXEBqcvOVToor0ROIPr1pP896p9sykADaiZo2xIZ\n"
	"JvO0w0kHehzGzLtaakvPaPWU9bbmyrma0ZoqxpXlxIc8W9ZYzxSStN4b3wTYMNTW\n"
	"Suftz/KnDv6Rtsg2b1TMwA==\n"
	"-----END PRIVATE KEY-----\n";

static EVP_PKEY *priv;

static void setup(void)
{
	if (priv != NULL)
		return;
	BIO *bio = BIO_new_mem_buf(private_pem, -1);
	FUZZ_CHECK(bio != NULL);
	priv = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	FUZZ_CHECK(priv != NULL);
}

static size_t b64url(const uint8_t *in, size_t n, char *out)
{
	static const char abc[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t o = 0;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = abc[(v >> 18) & 63];
		out[o++] = abc[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = abc[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = abc[v & 63];
	}
	out[o] = '\0';
	return o;
}

static int b64url_value(char c)
{
	return c >= 'A' && c <= 'Z'   ? c - 'A'
	       : c >= 'a' && c <= 'z' ? c - 'a' + 26
	       : c >= '0' && c <= '9' ? c - '0' + 52
	       : c == '-'	      ? 62
	       : c == '_'	      ? 63
				      : -1;
}

/* Independent check: is sig64 an RS256 signature by our key over signed? */
static int really_signed(const char *signed_part, size_t n, const char *sig64)
{
	size_t len = strlen(sig64);
	uint8_t *sig = malloc(len + 1);
	FUZZ_CHECK(sig != NULL);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0, ok = len % 4 != 1;
	for (size_t i = 0; i < len && ok; i++) {
		int v = b64url_value(sig64[i]);
		if (v < 0 && sig64[i] == '=' && i + 2 >= len)
			break;
		if (v < 0) {
			ok = 0;
			break;
		}
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			sig[o++] = (uint8_t)(acc >> bits);
		}
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	FUZZ_CHECK(md != NULL);
	ok = ok && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, priv) == 1 &&
	     EVP_DigestVerify(md, sig, o, (const unsigned char *)signed_part, n) == 1;
	EVP_MD_CTX_free(md);
	free(sig);
	return ok;
}

static char *sign(const char *header, const char *payload, int corrupt)
{
	size_t hl = strlen(header), pl = strlen(payload);
	char *tok = malloc(4 * (hl + pl) / 3 + 400);
	FUZZ_CHECK(tok != NULL);
	size_t n = b64url((const uint8_t *)header, hl, tok);
	tok[n++] = '.';
	n += b64url((const uint8_t *)payload, pl, tok + n);
	uint8_t sig[512];
	size_t siglen = sizeof sig;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	FUZZ_CHECK(md != NULL);
	FUZZ_CHECK(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, priv) == 1);
	FUZZ_CHECK(EVP_DigestSign(md, sig, &siglen, (const unsigned char *)tok, n) == 1);
	EVP_MD_CTX_free(md);
	if (corrupt)
		sig[siglen / 2] ^= 0x10;
	tok[n++] = '.';
	b64url(sig, siglen, tok + n);
	return tok;
}

static int role_in(const char *role, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(role, *list) == 0)
			return 1;
	return 0;
}

static void check_authz(const struct jwt_claims *c)
{
	static const char *const roles[] = { "admin", "member", NULL };
	struct conf cfg;
	char why[200];
	memset(&cfg, 0, sizeof cfg);
	for (int rule = 0; rule < 4; rule++) {
		cfg.require_organization = rule & 1;
		cfg.organization = (rule & 2) ? (char *)(uintptr_t) "org_1" : NULL;
		cfg.allowed_roles = (rule == 3) ? (char *)(uintptr_t) "admin,org:member" : NULL;
		int in_org = c->org_id[0] != '\0' &&
			     (cfg.organization == NULL || strcmp(c->org_id, "org_1") == 0 ||
			      strcmp(c->org_slug, "org_1") == 0);
		int want = (!cfg.require_organization || in_org) &&
			   (cfg.allowed_roles == NULL || (in_org && role_in(c->org_role, roles)));
		int rc = authz_check(&cfg, c, why, sizeof why);
		FUZZ_CHECK((rc == 0) == want);
		FUZZ_CHECK(rc == 0 || (why[0] != '\0' && memchr(why, '\0', sizeof why) != NULL));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 64 * 1024)
		return 0;
	setup();
	uint8_t mode = data[0];
	char *token;
	if (mode & 1) {
		char *header = fuzz_cstr(data + 1, size - 1);
		size_t hl = strlen(header);
		char *payload = 1 + hl < size ? fuzz_cstr(data + 2 + hl, size - 2 - hl)
					      : fuzz_cstr(data, 0);
		token = sign(header, payload, (mode & 2) != 0);
		free(header);
		free(payload);
	} else {
		token = fuzz_cstr(data + 1, size - 1);
	}

	/* The key set: kid "k1"; a pinned key (matches any kid); another kid. */
	struct jwt_keys keys;
	memset(&keys, 0, sizeof keys);
	int set = (mode >> 2) & 3;
	keys.n = 1;
	snprintf(keys.key[0].kid, sizeof keys.key[0].kid, "%s",
		 set == 0 || set == 3 ? "k1"
		 : set == 1	      ? ""
				      : "k2");
	keys.key[0].pkey = priv;
	const char *sid = (mode & 16) ? "sess_1" : NULL;
	const char *sub = (mode & 16) ? "user_1" : NULL;

	struct jwt_claims claims;
	char err[200];
	err[0] = '\0';
	enum jwt_result v =
		jwt_verify(token, &keys, ISSUER, sid, sub, (time_t)NOW, &claims, err, sizeof err);
	FUZZ_CHECK(v == JWT_OK || v == JWT_BAD || v == JWT_UNKNOWN_KID);
	FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
	if (v == JWT_OK) {
		const char *dot2 = strrchr(token, '.');
		FUZZ_CHECK(dot2 != NULL && really_signed(token, (size_t)(dot2 - token), dot2 + 1));
		FUZZ_CHECK(set != 2);
		FUZZ_TERMINATED(claims.sub);
		FUZZ_TERMINATED(claims.sid);
		FUZZ_TERMINATED(claims.org_id);
		FUZZ_TERMINATED(claims.org_slug);
		FUZZ_TERMINATED(claims.org_role);
		FUZZ_CHECK(claims.exp >= NOW - JWT_SKEW);
		FUZZ_CHECK(sid == NULL || strcmp(claims.sid, sid) == 0);
		FUZZ_CHECK(sub == NULL || strcmp(claims.sub, sub) == 0);
		check_authz(&claims);
	} else {
		static const struct jwt_claims zero;
		FUZZ_CHECK(memcmp(&claims, &zero, sizeof zero) == 0);
		FUZZ_CHECK(err[0] != '\0');
	}
	free(token);
	return 0;
}
