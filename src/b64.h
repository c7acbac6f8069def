/* Base64 and base64url decoding through OpenSSL, tolerant of missing
 * padding (publishable keys and JWTs omit it), strict about the alphabet. */
#ifndef PAM_CLERK_B64_H
#define PAM_CLERK_B64_H

#include <stddef.h>

/* Decode n characters of in (url: the base64url alphabet) into a malloc'd
 * buffer, NUL-terminated for convenience; *outlen gets its length. Returns
 * NULL on bad input or no memory. */
unsigned char *b64_decode(const char *in, size_t n, int url, size_t *outlen);

#endif
