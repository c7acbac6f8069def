#include "config.h"

#include "b64.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#define B64_MAX (1024 * 1024)

unsigned char *b64_decode(const char *in, size_t n, int url, size_t *outlen)
{
	static const char std[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char web[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *alphabet = url ? web : std;
	size_t eq = 0;
	while (eq < n && in[n - 1 - eq] == '=')
		eq++;
	size_t pad = (4 - n % 4) % 4;
	/* The alphabet, then '=' only as padding: at most two, given or added. */
	if (n == 0 || n > B64_MAX || eq + pad > 2)
		return NULL;
	for (size_t i = 0; i < n - eq; i++)
		if (in[i] == '\0' || strchr(alphabet, in[i]) == NULL)
			return NULL;
	unsigned char *text = malloc(n + pad + 1);
	unsigned char *out = malloc(n + pad + 1);
	if (text == NULL || out == NULL) {
		free(text);
		free(out);
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		text[i] = (unsigned char)(!url		 ? in[i]
					  : in[i] == '-' ? '+'
					  : in[i] == '_' ? '/'
							 : in[i]);
	memset(text + n, '=', pad);
	int dec = EVP_DecodeBlock(out, text, (int)(n + pad));
	free(text);
	if (dec < 0) {
		free(out);
		return NULL;
	}
	/* EVP_DecodeBlock counts padding as zero bytes: take them off. */
	*outlen = (size_t)dec - (eq + pad);
	out[*outlen] = '\0';
	return out;
}
