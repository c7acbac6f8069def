#!/bin/sh
# Run a command in the caller's private mount namespace (start it with
# "unshare --mount --propagation private -- sh sandbox.sh ..."), with
#   - /etc/pam.d replaced by a test's own copy (--pamd DIR),
#   - a private /dev whose /dev/log is the test's syslog socket (--log SOCK),
#     so that pam_syslog lines reach the test even without a syslog daemon,
#   - a private /run holding an empty /run/sshd (sshd's privsep directory),
#   - any further "--bind SRC DST" (DST must exist),
# and nothing of it visible outside: the host's /etc/pam.d, /dev and /run
# are never written. Mounts use -n so that libmount keeps no utab.
#
#   sandbox.sh --work DIR --log SOCK [--pamd DIR] [--bind SRC DST]... -- CMD [ARG]...
set -eu

work= log= pamd=
binds=
while [ $# -gt 0 ]; do
	case $1 in
	--work) work=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--pamd) pamd=$2; shift 2 ;;
	--bind) binds="$binds$2
$3
"; shift 3 ;;
	--) shift; break ;;
	*) echo "sandbox.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -n "$work" ] && [ -n "$log" ] && [ $# -gt 0 ] || { echo "sandbox.sh: usage error" >&2; exit 2; }

# Refuse to run in the host's namespace: every mount below would be global.
if [ "$(readlink /proc/self/ns/mnt)" = "$(readlink /proc/1/ns/mnt)" ]; then
	echo "sandbox.sh: not in a private mount namespace (use unshare --mount)" >&2
	exit 2
fi

mount -n --make-rprivate /

# /run first, so that nothing below can leave files in the host's /run.
mount -n -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -m 0755 /run/sshd

# A private /dev: the host's device nodes, its devpts and shm, and /dev/log.
mkdir -p "$work/hostdev"
mount -n --rbind /dev "$work/hostdev"
mount -n -t tmpfs -o mode=0755,nosuid tmpfs /dev
for n in null zero full random urandom tty ptmx; do
	cp -a "$work/hostdev/$n" /dev/
done
mkdir /dev/pts /dev/shm
mount -n --bind "$work/hostdev/pts" /dev/pts
mount -n --bind "$work/hostdev/shm" /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s fd/0 /dev/stdin
ln -s fd/1 /dev/stdout
ln -s fd/2 /dev/stderr
ln -s "$log" /dev/log

[ -z "$pamd" ] || mount -n --bind "$pamd" /etc/pam.d

printf '%s' "$binds" | while IFS= read -r src && IFS= read -r dst; do
	mount -n --bind "$src" "$dst"
done

exec "$@"
