/* Make outside strings (server answers, user names) safe for syslog and for
 * a terminal: no control characters, no bytes outside printable ASCII. */
#ifndef PAM_CLERK_SANITIZE_H
#define PAM_CLERK_SANITIZE_H

#include <stddef.h>

/* Copy src into dst (size n > 0), writing bytes outside 0x20..0x7e as \xHH
 * and a backslash as \\; a result that does not fit ends in "...".
 * A NULL src gives "-". Returns dst. */
char *sanitize(char *dst, size_t n, const char *src);

#endif
