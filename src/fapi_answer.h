/* Reading FAPI's JSON answers into plain fields, checking every type on the
 * way; anything unexpected is reported, never guessed at. */
#ifndef PAM_CLERK_FAPI_ANSWER_H
#define PAM_CLERK_FAPI_ANSWER_H

#include <stddef.h>

#define FAPI_ID_MAX	 128
#define FAPI_FACTORS_MAX 8

/* One entry of supported_second_factors. */
struct fapi_factor {
	char strategy[32];
	char safe_identifier[128]; /* masked phone or email (raw: sanitise to show) */
	char id[FAPI_ID_MAX];	   /* its phone_number_id or email_address_id, or "" */
	int is_default;
	int primary;
};

/* Session tasks (FAPI-NOTES section 11): a session with any is "pending",
 * which Clerk's own SDKs treat as signed out. */
#define FAPI_TASK_RESET_PASSWORD      1u
#define FAPI_TASK_SETUP_MFA	      2u
#define FAPI_TASK_CHOOSE_ORGANIZATION 4u
#define FAPI_TASK_OTHER		      8u /* a task this module does not know */

struct fapi_session_state {
	char status[16]; /* "active", "pending", ...; "" when the answer had none */
	unsigned tasks;	 /* FAPI_TASK_* bits */
};

struct fapi_answer {
	char error_code[64];	 /* first error's code, "" when none */
	char error_message[256]; /* its long_message (raw: sanitise to show) */
	char trace_id[96];	 /* clerk_trace_id, "" when none */
	long lockout_seconds;	 /* meta.lockout_expires_in_seconds, -1 if absent */
	char sign_in_status[48];
	char sign_in_id[FAPI_ID_MAX];
	char session_id[FAPI_ID_MAX]; /* created_session_id */
	char user_id[FAPI_ID_MAX];
	char *session_jwt;			      /* secret; NULL when absent */
	struct fapi_session_state session;	      /* of the created session */
	char client_trust_state[16];		      /* "", pending, new or known */
	struct fapi_factor factors[FAPI_FACTORS_MAX]; /* supported_second_factors */
	size_t n_factors;
};

/* Parse a sign-in answer (200: {"response": SignIn, "client": Client}) or a
 * Clerk error envelope (4xx/5xx). Returns 0, or -1 with a reason in err
 * when the body is not what FAPI sends (trace_id is still filled when it
 * could be read). Free with fapi_answer_clear. */
int fapi_parse_sign_in(const char *body, size_t len, long http_status, struct fapi_answer *a,
		       char *err, size_t errsize);

/* Parse a token answer ({"object":"token","jwt":"..."}, as the tokens
 * endpoints send it) into a malloc'd JWT (wipe with secret_free). */
char *fapi_parse_token(const char *body, size_t len, char *err, size_t errsize);

/* Parse a session answer ({"response": Session, ...}, as touch sends it):
 * its status and tasks, refusing one that is not session_id's. Returns 0,
 * or -1 with a reason in err. */
int fapi_parse_session(const char *body, size_t len, const char *session_id,
		       struct fapi_session_state *s, char *err, size_t errsize);

/* True for a session no one may treat as signed in yet: "pending", or any
 * status but "active" (an absent status counts as "active"). */
int fapi_session_pending(const struct fapi_session_state *s);

void fapi_answer_clear(struct fapi_answer *a);

#endif
