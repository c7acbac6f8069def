/* application/x-www-form-urlencoded bodies and query strings, built in a
 * wiping buffer so that passwords never pass through a library's copies. */
#ifndef PAM_CLERK_FORM_H
#define PAM_CLERK_FORM_H

#include "buf.h"

/* Append "key=value" (with a leading '&' unless the buffer is empty),
 * percent-encoding every byte outside the unreserved set of RFC 3986. */
int form_add(struct buf *b, const char *key, const char *value);

#endif
