/* Where verification keys come from: a JWKS document as FAPI serves it
 * (jwt_keys_from_jwks, first byte even) and the one-line key an
 * administrator pastes into jwt_key (jwt_keys_from_pem, first byte odd).
 * Promises: a success holds 1..JWT_KEYS_MAX RSA keys of 2048 bits or more,
 * each from the JWKS with a non-empty kid; a failure holds nothing; free
 * releases everything. */
#include "config.h"

#include "fuzz.h"

#include "jwt.h"

#include <openssl/evp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 256 * 1024)
		return 0;
	struct jwt_keys k;
	char err[200];
	err[0] = '\0';
	int rc, pem = data[0] & 1;
	if (pem) {
		char *line = fuzz_cstr(data + 1, size - 1);
		if (line[0] == '/')
			line[0] = ' '; /* a path would read a file: not this target's job */
		rc = jwt_keys_from_pem(&k, line, err, sizeof err);
		free(line);
	} else {
		char *json = fuzz_copy(data + 1, size - 1);
		rc = jwt_keys_from_jwks(&k, json, size - 1, err, sizeof err);
		free(json);
	}
	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc == 0) {
		FUZZ_CHECK(k.n >= 1 && k.n <= JWT_KEYS_MAX);
		for (size_t i = 0; i < k.n; i++) {
			EVP_PKEY *p = k.key[i].pkey;
			FUZZ_CHECK(p != NULL);
			FUZZ_CHECK(EVP_PKEY_get_base_id(p) == EVP_PKEY_RSA);
			FUZZ_CHECK(EVP_PKEY_get_bits(p) >= 2048);
			FUZZ_TERMINATED(k.key[i].kid);
			FUZZ_CHECK(pem ? k.key[i].kid[0] == '\0' : k.key[i].kid[0] != '\0');
		}
	} else {
		FUZZ_CHECK(k.n == 0);
		FUZZ_CHECK(err[0] != '\0' && memchr(err, '\0', sizeof err) != NULL);
	}
	jwt_keys_free(&k);
	FUZZ_CHECK(k.n == 0);
	return 0;
}
