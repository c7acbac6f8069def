/* Whether a login is for an account this host has, and whether the password
 * it carries is one sshd made up. Clerk is asked only about local accounts
 * (every guess at another name would spend the host's rate limit at Clerk
 * and, for a name that is a Clerk user, that user's lockout), and never with
 * sshd's stand-in password. */
#ifndef PAM_CLERK_LOCAL_ACCOUNT_H
#define PAM_CLERK_LOCAL_ACCOUNT_H

#include <stddef.h>

/* Ordered so that a zeroed or forgotten result is never LOCAL_ACCOUNT_YES. */
enum local_account {
	LOCAL_ACCOUNT_ERROR, /* the lookup failed (NSS backend down, no memory):
				not known to be local */
	LOCAL_ACCOUNT_NO,    /* no such account */
	LOCAL_ACCOUNT_YES,   /* an account this host has */
};

/* Look user up through NSS (getpwnam_r), so accounts from LDAP, SSSD or
 * extrausers count as local, as they do for sshd and login(1). An empty
 * name, or one longer than LOCAL_ACCOUNT_NAME_MAX bytes, is NO without a
 * lookup. On ERROR the reason is in err (never the name). */
#define LOCAL_ACCOUNT_NAME_MAX 256
enum local_account local_account_lookup(const char *user, char *err, size_t errsize);

/* The bytes sshd puts in place of the typed password when it will not let
 * the login succeed (an unknown user; root under PermitRootLogin other than
 * yes): "\b\n\r\177INCORRECT" repeated and cut to the typed length. */
#define SSHD_DECOY "\b\n\r\177INCORRECT"

/* 1 when password is sshd's decoy (of any length from 1), else 0; an empty
 * password is not a decoy. Reads every byte whatever the outcome, so the
 * time taken tells nothing about where a real password differs. */
int sshd_decoy_password(const char *password);

#endif
