/* The small FAPI answers: a session answer (touch's {"response": Session})
 * through fapi_parse_session (first byte even) and the tokens endpoints'
 * {"jwt": ...} through fapi_parse_token (first byte odd). Promises: the
 * result fits and is a C string no longer than the body; a session is
 * pending exactly when it has tasks or is not active; a failure says why
 * and holds nothing. */
#include "config.h"

#include "fuzz.h"

#include "buf.h"
#include "fapi_answer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	char *body = fuzz_copy(data + 1, size - 1);
	char err[160];
	err[0] = '\0';
	if (data[0] & 1) {
		char *jwt = fapi_parse_token(body, size - 1, err, sizeof err);
		FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
		if (jwt != NULL) {
			FUZZ_CHECK(jwt[0] != '\0' && strlen(jwt) < size);
			secret_free(jwt);
		} else {
			FUZZ_CHECK(err[0] != '\0');
		}
		free(body);
		return 0;
	}
	/* Even: a session answer (touch's) through fapi_parse_session, for
	 * session "sess_1" or any (0x02 set). */
	struct fapi_session_state st;
	memset(&st, 'x', sizeof st);
	const char *want = (data[0] & 2) ? NULL : "sess_1";
	int rc = fapi_parse_session(body, size - 1, want, &st, err, sizeof err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
	if (rc == 0) {
		FUZZ_CHECK(memchr(st.status, '\0', sizeof st.status) != NULL);
		FUZZ_CHECK(st.status[0] != '\0');
		FUZZ_CHECK((st.tasks & ~15u) == 0);
		FUZZ_CHECK(fapi_session_pending(&st) ==
			   (st.tasks != 0 || strcmp(st.status, "active")));
	} else {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(st.status[0] == '\0' && st.tasks == 0);
	}
	free(body);
	return 0;
}
