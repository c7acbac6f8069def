/* bench/launch: run one command and report what it cost, for bench/run.
 *
 *   launch PROGRAM ARG...     (stdin, stdout, stderr are passed through)
 *
 * Writes one line to fd 3 when the command ends:
 *   WALL_NS UTIME_US STIME_US MAXRSS_KB EXIT
 * where the times and the peak RSS come from wait4() on the command, so they
 * include every process it waited for (pam_exec's script, the script's curl
 * and jq); MAXRSS_KB is the largest single process of that tree.
 *
 * Why a launcher: Linux starts a new program's peak-RSS record from the RSS
 * of the process that exec'd it. Spawned straight from Python (~25 MB), every
 * login would report at least Python's size; spawned from this small program,
 * ru_maxrss is the login's own. It also times fork..exit without Python's
 * overhead.
 *
 * Build: gcc -O2 -o launch launch.c   (bench/run does it)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: launch PROGRAM ARG...  (reports on fd 3)\n");
		return 127;
	}
	/* the report pipe is ours, not the command's */
	if (fcntl(3, F_SETFD, FD_CLOEXEC) != 0) {
		perror("launch: fd 3");
		return 127;
	}
	struct timespec t0, t1;
	pid_t pid;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (posix_spawn(&pid, argv[1], NULL, NULL, argv + 1, environ) != 0) {
		perror("launch: spawn");
		return 127;
	}
	int status;
	struct rusage ru;
	if (wait4(pid, &status, 0, &ru) != pid) {
		perror("launch: wait4");
		return 127;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long long wall =
		(long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec);
	int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	dprintf(3, "%lld %lld %lld %ld %d\n", wall,
		(long long)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec,
		(long long)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss, code);
	return code;
}
