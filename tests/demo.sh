#!/bin/sh
# The demo: pamtester signs ileap-demo@way.cloud in through pam_clerk.so
# against the bundled Clerk FAPI emulator, once with the right password and
# once with a wrong one. Nothing is installed; nothing leaves this machine.
set -eu
: "${TEST_PYTHON:=/usr/bin/python3}"
srcdir=${SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
builddir=${BUILDDIR:-$srcdir}
module=$builddir/src/.libs/pam_clerk.so
[ -f "$module" ] || { echo "demo: build first (make): $module is missing" >&2; exit 1; }
command -v pamtester >/dev/null || { echo "demo: apt-get install pamtester" >&2; exit 1; }

work=$(mktemp -d)
emu_pid=
cleanup() {
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

# The emulator plays real Clerk (its default profile): rate limits, lockout and
# single-session mode as the real service has them; two logins fit well within them.
"$TEST_PYTHON" "$srcdir/tests/emulator/fapi_emulator.py" --state-dir "$work/emulator" \
	--profile real >"$work/emulator.log" 2>&1 &
emu_pid=$!
i=0
while [ ! -s "$work/emulator/ready.json" ]; do
	i=$((i + 1))
	[ $i -le 100 ] || { echo "demo: emulator did not start:" >&2; cat "$work/emulator.log" >&2; exit 1; }
	sleep 0.1
done
url=$("$TEST_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["url"])' "$work/emulator/ready.json")

mkdir "$work/pam.d"
# pam_clerk asks Clerk only about accounts this host has: nss_wrapper gives the
# demo user one.
echo "ileap-demo:x:20000:100::/nonexistent:/bin/false" >"$work/passwd"
echo "users:x:100:" >"$work/group"
cat >"$work/pam_clerk.conf" <<CONF
frontend_api = $url
cafile = $work/emulator/ca.pem
identifier = %u@way.cloud
state_dir = none
CONF
chmod 600 "$work/pam_clerk.conf"
echo "auth required $module conf=$work/pam_clerk.conf" >"$work/pam.d/clerk-demo"
echo "account required $module conf=$work/pam_clerk.conf" >>"$work/pam.d/clerk-demo"

run() {
	echo "\$ pamtester -v clerk-demo ileap-demo authenticate acct_mgmt    (password: $1)"
	# pam_wrapper points libpam at our service file instead of /etc/pam.d;
	# pam_clerk's log lines appear as "syslog:" lines.
	out=$(printf '%s\n' "$1" | LD_PRELOAD="libpam_wrapper.so libnss_wrapper.so" PAM_WRAPPER=1 \
		NSS_WRAPPER_PASSWD="$work/passwd" NSS_WRAPPER_GROUP="$work/group" \
		PAM_WRAPPER_SERVICE_DIR="$work/pam.d" PAM_WRAPPER_DEBUGLEVEL=3 \
		pamtester -v clerk-demo ileap-demo authenticate acct_mgmt 2>&1)
	printf '%s\n' "$out" | grep -v '_pam_init_handlers' |
		sed -n 's/.*SYSLOG([0-9]*): /  syslog: /p; /^pamtester/p'
	printf '%s\n' "$out" | grep -q 'successfully authenticated'
}
echo "Clerk FAPI emulator at $url; identifier = %u@way.cloud"
echo
run HelloPrimaryData && ok=yes || ok=no
echo
run NotThePassword && bad=accepted || bad=refused
echo
echo "demo: right password: $( [ $ok = yes ] && echo accepted || echo REFUSED ); wrong password: $bad"
[ "$ok" = yes ] && [ "$bad" = refused ]
