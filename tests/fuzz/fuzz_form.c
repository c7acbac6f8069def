/* form_add (request bodies with the password, the URL query with the
 * dev-browser token): the input is key NUL value; the first two bytes set
 * the buffer's cap and the third whether something is already in it.
 * Promises: the buffer never grows past its cap and stays a C string; on
 * success the new part is "[&]key=value" in the unreserved set plus %HH,
 * and percent-decoding it gives key and value back exactly. */
#include "config.h"

#include "fuzz.h"

#include "buf.h"
#include "form.h"

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static int unreserved(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_' || c == '~';
}

/* Decode s[0..n) into out; returns the length. */
static size_t decode(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%') {
			FUZZ_CHECK(i + 2 < n);
			int hi = hexval(s[i + 1]), lo = hexval(s[i + 2]);
			FUZZ_CHECK(hi >= 0 && lo >= 0);
			char c = (char)(hi << 4 | lo);
			FUZZ_CHECK(!unreserved(c)); /* escaped only when it must be */
			out[o++] = c;
			i += 2;
		} else {
			FUZZ_CHECK(unreserved(s[i]));
			out[o++] = s[i];
		}
	}
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 3)
		return 0;
	size_t max = (size_t)data[0] << 8 | data[1];
	int prefill = data[2] & 1;
	char *key = fuzz_cstr(data + 3, size - 3);
	size_t klen = strlen(key);
	/* After the key's NUL comes the value (none without a NUL). */
	char *value =
		3 + klen < size ? fuzz_cstr(data + 4 + klen, size - 4 - klen) : fuzz_cstr(data, 0);
	size_t vlen = strlen(value);

	struct buf b;
	buf_init(&b, max);
	size_t before = 0;
	if (prefill && buf_append_str(&b, "a=b") == 0)
		before = b.len;
	int rc = form_add(&b, key, value);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(b.len <= max);
	FUZZ_CHECK(b.len == 0 || (b.data != NULL && b.data[b.len] == '\0'));
	FUZZ_CHECK(strlen(buf_str(&b)) == b.len);
	if (rc == 0) {
		const char *s = buf_str(&b) + before;
		size_t n = b.len - before;
		if (before > 0) {
			FUZZ_CHECK(n > 0 && s[0] == '&');
			s++;
			n--;
		}
		const char *eq = memchr(s, '=', n);
		FUZZ_CHECK(eq != NULL);
		char *k = malloc(klen + 1), *v = malloc(vlen + 1);
		FUZZ_CHECK(k != NULL && v != NULL);
		FUZZ_CHECK(decode(s, (size_t)(eq - s), k) == klen && memcmp(k, key, klen) == 0);
		size_t rest = n - (size_t)(eq - s) - 1;
		FUZZ_CHECK(decode(eq + 1, rest, v) == vlen && memcmp(v, value, vlen) == 0);
		free(k);
		free(v);
	} else {
		/* It fails only when the whole would not fit. */
		size_t need = before + (before > 0) + 1;
		for (size_t i = 0; i < klen; i++)
			need += unreserved(key[i]) ? 1 : 3;
		for (size_t i = 0; i < vlen; i++)
			need += unreserved(value[i]) ? 1 : 3;
		FUZZ_CHECK(need > max);
	}
	buf_wipe(&b);
	FUZZ_CHECK(b.data == NULL && b.len == 0);
	free(key);
	free(value);
	return 0;
}
