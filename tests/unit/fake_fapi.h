/* A fake Frontend API and a fake host for whole-login unit tests: the
 * transport (struct http_conn) answers from a script and checks each
 * request; the host types scripted codes and keeps the log lines. */
#ifndef PAM_CLERK_TEST_FAKE_FAPI_H
#define PAM_CLERK_TEST_FAKE_FAPI_H

#include "http.h"
#include "login.h"

#include <stdbool.h>
#include <stddef.h>

#define FAPI	 "https://127.0.0.1:8443"
#define PASSWORD "pw-Secret-1"
#define STEPS	 16

struct step {
	const char *request; /* "POST /v1/client/sign_ins": method and path expected */
	long status;
	const char *body;
	const char *client_token; /* Authorization the answer carries, or NULL */
	enum http_result fail;	  /* != HTTP_OK: no answer at all */
};

struct fake {
	struct http_conn conn;
	const struct step *script;
	size_t n, next;
	char sent_auth[STEPS][200]; /* the Authorization each request sent */
	char sent_body[STEPS][600];
	long timeout_ms[STEPS];
	/* the host */
	const char *codes[8];
	size_t n_codes, asked;
	char prompts[8][400];
	char log[16][900];
	size_t n_log;
};

extern struct fake F;
extern char state_dir[64];	     /* a fresh state_dir per test */
extern const struct login_host host; /* asks F.codes, logs into F.log */

/* Run a login of "alice" with script and the extra module arguments, and
 * check that exactly the scripted requests were made. */
void run(const struct step *script, size_t n, const char *const *args, size_t nargs,
	 const char *password, struct login_result *res);
#define RUN(script, res, ...)                                                                      \
	do {                                                                                       \
		static const char *const args_[] = { __VA_ARGS__ };                                \
		run(script, sizeof script / sizeof script[0], args_ + 1,                           \
		    sizeof args_ / sizeof args_[0] - 1, PASSWORD, res);                            \
	} while (0)

/* The codes the user types, in order (NULL: the conversation cannot ask). */
void codes(const char *a, const char *b, const char *c);
bool logged(const char *part);
size_t files_in_state_dir(const char *suffix);
int fake_setup(void **state);
int fake_teardown(void **state);

/* --- FAPI answers ------------------------------------------------------------ */

#define COMPLETE                                                                                   \
	"{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":\"complete\","  \
	"\"created_session_id\":\"sess_1\"},\"client\":{\"object\":\"client\",\"id\":\"client_"    \
	"1\","                                                                                     \
	"\"sessions\":[{\"id\":\"sess_1\",\"status\":\"active\",\"user\":{\"id\":\"user_1\"},"     \
	"\"last_active_token\":{\"object\":\"token\",\"jwt\":\"jwt_1\"}}]}}"
#define NEEDS(status, trust, factors)                                                              \
	"{\"response\":{\"object\":\"sign_in_attempt\",\"id\":\"sia_1\",\"status\":\"" status      \
	"\",\"client_trust_state\":\"" trust "\",\"supported_second_factors\":" factors            \
	"},\"client\":null}"
#define TOTP "[{\"strategy\":\"totp\",\"default\":true}]"
#define PHONE                                                                                      \
	"[{\"strategy\":\"phone_code\",\"safe_identifier\":\"+1*****0101\",\"phone_number_id\":"   \
	"\"idn_p1\"}]"
#define EMAIL                                                                                      \
	"[{\"strategy\":\"email_code\",\"safe_identifier\":\"a***@example.com\",\"email_address_"  \
	"id\":\"idn_e1\"}]"
#define BACKUP	    "[{\"strategy\":\"backup_code\"}]"
#define ERROR(code) "{\"errors\":[{\"code\":\"" code "\",\"message\":\"m\"}]}"
#define CLIENT	    "{\"response\":{},\"client\":null}"

#define CREATE	"POST /v1/client/sign_ins"
#define FIRST	"POST /v1/client/sign_ins/sia_1/attempt_first_factor"
#define PREPARE "POST /v1/client/sign_ins/sia_1/prepare_second_factor"
#define ATTEMPT "POST /v1/client/sign_ins/sia_1/attempt_second_factor"
#define REMOVE	"DELETE /v1/client/sessions"
#define JWKS	"GET /.well-known/jwks.json"

#endif
