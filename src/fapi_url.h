/* Where the Clerk Frontend API is: from a publishable key or a URL. */
#ifndef PAM_CLERK_FAPI_URL_H
#define PAM_CLERK_FAPI_URL_H

#include <stddef.h>

/* Decode pk_test_/pk_live_ + base64("<host>$") into "https://<host>"
 * (the host is the instance's Frontend API). Returns 0, or -1 with a reason in err. */
int fapi_url_from_key(const char *key, char *url, size_t urlsize, char *err, size_t errsize);

/* Check "https://host[:port][/]" (no path, query or credentials) and copy
 * it to url without a trailing slash. Returns 0, or -1 with a reason. */
int fapi_url_normalize(const char *in, char *url, size_t urlsize, char *err, size_t errsize);

#endif
