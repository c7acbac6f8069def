#!/bin/bash
# The do-it-yourself alternative to pam_clerk that bench/run measures: a
# pam_exec helper that signs PAM_USER in with Clerk's Frontend API (native
# mode, password strategy) using curl and jq. Written to be correct, not slow:
# one curl, one jq, no temporary files.
#
#   auth required pam_exec.so expose_authtok quiet /abs/clerk-signin.sh \
#        https://FRONTEND_API [CAFILE [API_VERSION]]
#
# pam_exec writes the password, then a NUL, to our stdin. The password never
# goes on a command line: printf is a shell builtin and curl reads it from its
# stdin (--data-urlencode password@-). The identifier is the PAM user name.
# Exit 0 only when Clerk answers with a sign-in whose status is "complete".
set -u -o pipefail
PATH=/usr/bin:/bin # pam_exec passes only the PAM environment: no PATH
umask 077

fapi=${1:?usage: clerk-signin.sh FRONTEND_API_URL [CAFILE [API_VERSION]]}
cafile=${2:-}
api_version=${3:-2026-05-12}

[ "${PAM_TYPE:-}" = auth ] || exit 1
[ -n "${PAM_USER:-}" ] || exit 1
case $fapi in https://*) ;; *) exit 1 ;; esac

password=
IFS= read -r -d '' password || [ -n "$password" ] || exit 1
[ -n "$password" ] || exit 1

ca=()
[ -n "$cafile" ] && ca=(--cacert "$cafile")

# -q: no ~/.curlrc; --proto: https only; --noproxy: as pam_clerk, no *_proxy.
printf '%s' "$password" |
	curl -q -sS --proto =https --noproxy '*' --connect-timeout 5 --max-time 10 "${ca[@]}" \
		-H "Clerk-API-Version: $api_version" -H 'Authorization;' \
		-H 'Accept: application/json' \
		--data-urlencode strategy=password \
		--data-urlencode "identifier=$PAM_USER" \
		--data-urlencode password@- \
		"$fapi/v1/client/sign_ins?_is_native=1" |
	jq -e '.response.status == "complete"' >/dev/null
