/* b64_decode (publishable keys, and JWT parts): differential against a
 * plain reference decoder written here, and a round trip of random bytes
 * through a reference encoder. The first byte picks the mode: decode the
 * rest as base64 or base64url, or encode it (padded or not) and decode. */
#include "config.h"

#include "fuzz.h"

#include "b64.h"

static const char std_abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int value(char c, const char *abc)
{
	const char *p = c != '\0' ? strchr(abc, c) : NULL;
	return p != NULL ? (int)(p - abc) : -1;
}

/* The contract: n > 0; the alphabet, then only the '=' still missing from
 * a multiple of four (none, or some of them); never a lone sixth bit. */
static uint8_t *ref_decode(const char *in, size_t n, int url, size_t *outlen)
{
	const char *abc = url ? url_abc : std_abc;
	size_t eq = 0;
	while (eq < n && in[n - 1 - eq] == '=')
		eq++;
	size_t m = n - eq;
	size_t needed = (4 - m % 4) % 4;
	if (n == 0 || m % 4 == 1 || eq > needed)
		return NULL;
	uint8_t *out = malloc(m + 1);
	FUZZ_CHECK(out != NULL);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < m; i++) {
		int v = value(in[i], abc);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6 | (unsigned)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

static size_t ref_encode(const uint8_t *in, size_t n, int url, int pad, char *out)
{
	const char *abc = url ? url_abc : std_abc;
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
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = abc[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	int mode = data[0] & 3;
	int url = mode & 1;
	const uint8_t *rest = data + 1;
	size_t n = size - 1;
	size_t outlen = 12345, reflen = 0;

	if (mode < 2) {
		char *in = fuzz_copy(rest, n);
		unsigned char *out = b64_decode(in, n, url, &outlen);
		uint8_t *ref = ref_decode(in, n, url, &reflen);
		FUZZ_CHECK((out == NULL) == (ref == NULL));
		if (out != NULL) {
			FUZZ_CHECK(outlen == reflen);
			FUZZ_CHECK(memcmp(out, ref, reflen) == 0);
			FUZZ_CHECK(out[outlen] == '\0');
		}
		free(out);
		free(ref);
		free(in);
		return 0;
	}
	if (n == 0)
		return 0;
	/* Round trip; mode 2 padded base64, mode 3 unpadded base64url (JWT). */
	char *enc = malloc(4 * (n / 3 + 1) + 1);
	FUZZ_CHECK(enc != NULL);
	size_t elen = ref_encode(rest, n, url, mode == 2, enc);
	char *exact = fuzz_copy((const uint8_t *)enc, elen);
	unsigned char *out = b64_decode(exact, elen, url, &outlen);
	FUZZ_CHECK(out != NULL);
	FUZZ_CHECK(outlen == n && memcmp(out, rest, n) == 0 && out[n] == '\0');
	free(out);
	free(exact);
	free(enc);
	return 0;
}
