/* fapi_parse_sign_in on any body, under any HTTP status (from the first
 * byte), then what pam_clerk does with the result: the outcome table and
 * the sanitised log fields. Promises checked: every field ends inside its
 * array, ids keep to [A-Za-z0-9_-], error codes to [a-z0-9_] (or
 * "(invalid)"), a failed parse holds no JWT, and only a 2xx answer whose
 * status is "complete" with a session and a user can become a success. */
#include "config.h"

#include "fuzz.h"

#include "fapi_answer.h"
#include "outcome.h"
#include "sanitize.h"

static const long statuses[] = { 200, 201, 204, 299, 300, 302, 400, 401, 403, 404,
				 409, 415, 422, 429, 500, 502, 503, 100, 0,   -1 };
#define NSTATUSES (sizeof statuses / sizeof statuses[0])

static void check_id(const char *id, int may_be_empty)
{
	FUZZ_CHECK(may_be_empty || id[0] != '\0');
	for (const char *p = id; *p; p++)
		FUZZ_CHECK(fuzz_is_id_char(*p));
}

static void check_log_safe(const char *s)
{
	char out[400];
	sanitize(out, sizeof out, s);
	FUZZ_CHECK(strlen(out) < sizeof out);
	for (const char *p = out; *p; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* The first byte: a status FAPI sends, or (past the table) any 0-999. */
	long status = data[0] < NSTATUSES ? statuses[data[0]] : (long)data[0] * 4 - 1;
	char *body = fuzz_copy(data + 1, size - 1);
	struct fapi_answer a;
	char err[200];
	memset(err, 'x', sizeof err);
	err[sizeof err - 1] = '\0';

	int rc = fapi_parse_sign_in(body, size - 1, status, &a, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_TERMINATED(a.error_code);
	FUZZ_TERMINATED(a.error_message);
	FUZZ_TERMINATED(a.trace_id);
	FUZZ_TERMINATED(a.sign_in_status);
	FUZZ_TERMINATED(a.sign_in_id);
	FUZZ_TERMINATED(a.session_id);
	FUZZ_TERMINATED(a.user_id);
	FUZZ_TERMINATED(a.client_trust_state);
	FUZZ_TERMINATED(err);
	FUZZ_CHECK(a.n_factors <= FAPI_FACTORS_MAX);
	FUZZ_CHECK(a.lockout_seconds >= -1 && a.lockout_seconds <= 86400L * 366);
	for (size_t i = 0; i < a.n_factors; i++) {
		FUZZ_TERMINATED(a.factors[i].strategy);
		FUZZ_TERMINATED(a.factors[i].safe_identifier);
		FUZZ_TERMINATED(a.factors[i].id);
		check_id(a.factors[i].id, 1);
	}
	if (a.session_jwt != NULL)
		FUZZ_CHECK(strlen(a.session_jwt) < size);

	int ok2xx = status >= 200 && status < 300;
	if (rc != 0) {
		FUZZ_CHECK(a.session_jwt == NULL);
		FUZZ_CHECK(err[0] != '\0' && err[0] != 'x');
	} else if (ok2xx) {
		FUZZ_CHECK(a.error_code[0] == '\0');
		check_id(a.sign_in_id, 0);
		if (strcmp(a.sign_in_status, "complete") == 0) {
			check_id(a.session_id, 0);
			check_id(a.user_id, 0);
		} else {
			FUZZ_CHECK(a.session_id[0] == '\0' && a.session_jwt == NULL);
		}
	} else {
		FUZZ_CHECK(a.sign_in_status[0] == '\0' && a.session_jwt == NULL);
		/* "" (an empty code) is possible; it maps by status. */
		if (strcmp(a.error_code, "(invalid)") != 0)
			for (const char *p = a.error_code; *p; p++)
				FUZZ_CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
					   *p == '_');
	}

	/* What the module makes of it. */
	if (rc == 0) {
		enum outcome o = ok2xx ? outcome_from_sign_in_status(a.sign_in_status)
				       : outcome_from_error(a.error_code, status);
		FUZZ_CHECK((int)o >= 0 && o < OUTCOME_COUNT);
		const struct outcome_info *info = outcome_info(o);
		FUZZ_CHECK(info != NULL && info->name != NULL);
		FUZZ_CHECK(pam_code_name(info->pam_code) != NULL);
		if (o == OUTCOME_SUCCESS)
			FUZZ_CHECK(ok2xx && strcmp(a.sign_in_status, "complete") == 0 &&
				   a.session_id[0] != '\0' && a.user_id[0] != '\0');
		const char *hint = outcome_admin_hint(a.error_code);
		if (hint != NULL)
			check_log_safe(hint);
	}
	check_log_safe(a.error_code);
	check_log_safe(a.error_message);
	check_log_safe(a.trace_id);
	check_log_safe(a.sign_in_status);
	for (size_t i = 0; i < a.n_factors; i++)
		check_log_safe(a.factors[i].safe_identifier);

	fapi_answer_clear(&a);
	FUZZ_CHECK(a.session_jwt == NULL && a.n_factors == 0 && a.lockout_seconds == -1);
	free(body);
	return 0;
}
