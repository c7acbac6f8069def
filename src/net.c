#include "config.h"

#include "net.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

long long net_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int net_wait(int fd, short events, long long deadline)
{
	for (;;) {
		long long left = deadline - net_now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return (p.revents & POLLNVAL) ? -1 : 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* getaddrinfo has no timeout, so it runs on a detached helper thread that
 * the caller stops waiting for at its deadline; the job is freed by
 * whichever of the two lets go of it last. */
struct resolve_job {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int refs;
	bool done;
	int rc;
	struct addrinfo *ai;
	char host[256], port[8];
};

static void job_release(struct resolve_job *j)
{
	pthread_mutex_lock(&j->mu);
	int left = --j->refs;
	pthread_mutex_unlock(&j->mu);
	if (left == 0) {
		if (j->ai != NULL)
			freeaddrinfo(j->ai);
		pthread_cond_destroy(&j->cv);
		pthread_mutex_destroy(&j->mu);
		free(j);
	}
}

static void *resolve_thread(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(j->host, j->port, &hints, &ai);
	pthread_mutex_lock(&j->mu);
	j->rc = rc;
	j->ai = ai;
	j->done = true;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
	job_release(j);
	return NULL;
}

static enum http_result resolve(const char *host, const char *port, bool numeric,
				long long deadline, struct addrinfo **out, char *err,
				size_t errsize)
{
	if (numeric) {
		struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
					  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
		if (getaddrinfo(host, port, &hints, out) == 0)
			return HTTP_OK;
		snprintf(err, errsize, "bad address %s", host);
		return HTTP_ERR_CONNECT;
	}
	if (strlen(host) >= sizeof((struct resolve_job *)0)->host || strlen(port) >= 8)
		return HTTP_ERR_INTERNAL;
	struct resolve_job *j = calloc(1, sizeof *j);
	if (j == NULL)
		return HTTP_ERR_INTERNAL;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&j->mu, NULL);
	j->refs = 2;
	snprintf(j->host, sizeof j->host, "%s", host);
	snprintf(j->port, sizeof j->port, "%s", port);

	/* The helper takes none of the host's signals. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_t th;
	int prc = pthread_create(&th, &attr, resolve_thread, j);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (prc != 0) {
		j->refs = 1;
		job_release(j);
		snprintf(err, errsize, "cannot start the resolver");
		return HTTP_ERR_INTERNAL;
	}

	struct timespec ts = { (time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000 };
	enum http_result r = HTTP_OK;
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		if (pthread_cond_timedwait(&j->cv, &j->mu, &ts) == ETIMEDOUT)
			break;
	if (!j->done) {
		snprintf(err, errsize, "resolving %s timed out", host);
		r = HTTP_ERR_TIMEOUT;
	} else if (j->rc != 0) {
		snprintf(err, errsize, "could not resolve %s", host);
		r = HTTP_ERR_CONNECT;
	} else {
		*out = j->ai;
		j->ai = NULL;
	}
	pthread_mutex_unlock(&j->mu);
	job_release(j);
	return r;
}

enum http_result net_connect(const char *host, const char *port, bool numeric, long long deadline,
			     int *fdp, char *err, size_t errsize)
{
	struct addrinfo *ai = NULL;
	enum http_result r = resolve(host, port, numeric, deadline, &ai, err, errsize);
	if (r != HTTP_OK)
		return r;
	int last_errno = ECONNREFUSED;
	size_t left = 0;
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next)
		left++;
	r = HTTP_ERR_CONNECT;
	for (struct addrinfo *a = ai; a != NULL && r != HTTP_OK; a = a->ai_next, left--) {
		/* Like curl: an address that drops packets (a broken IPv6 route)
		 * gets half of the time left, so the next one still has a chance. */
		long long now = net_now_ms();
		long long try_by = left > 1 ? now + (deadline - now) / 2 : deadline;
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				a->ai_protocol);
		if (fd < 0) {
			last_errno = errno;
			continue;
		}
		int soerr = 0;
		r = HTTP_ERR_CONNECT;
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
			soerr = errno;
			if (soerr == EINPROGRESS) {
				int w = net_wait(fd, POLLOUT, try_by);
				socklen_t sl = sizeof soerr;
				if (w == 0)
					r = HTTP_ERR_TIMEOUT;
				else if (w < 0 ||
					 getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
					soerr = errno != 0 ? errno : EIO;
			}
		}
		if (r == HTTP_ERR_CONNECT && soerr == 0) {
			*fdp = fd;
			r = HTTP_OK;
		} else {
			last_errno = soerr != 0 && soerr != EINPROGRESS ? soerr : last_errno;
			close(fd);
		}
	}
	freeaddrinfo(ai);
	if (r == HTTP_ERR_TIMEOUT)
		snprintf(err, errsize, "connect to %s timed out", host);
	else if (r == HTTP_ERR_CONNECT)
		snprintf(err, errsize, "connect to %s failed: %s", host, strerror(last_errno));
	return r;
}
