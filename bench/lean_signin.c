/* bench/lean_signin: a diagnostic prototype, NOT part of pam_clerk and not for
 * production (no proxy, no redirects policy, no dev-instance handshake, none
 * of pam_clerk's outcome mapping or logging). It does the same plain sign-in
 * as pam_clerk -- one HTTPS POST /v1/client/sign_ins?_is_native=1, verified
 * TLS (CA file + host name), the same headers and form -- but talks TLS
 * through libssl directly instead of libcurl. bench/run measures it to show
 * what the dependency tree costs: libcurl as Debian builds it pulls in ~37
 * shared libraries (krb5, ldap, gnutls, ssh2, rtmp, ...) that libpam must
 * dlopen and bind (RTLD_NOW) in every process; this needs libssl, libcrypto
 * and json-c.
 *
 *   auth required /abs/pam_lean_signin.so frontend_api=https://127.0.0.1:PORT cafile=/abs/ca.pem
 *
 * Build (bench/run does it):
 *   gcc -O2 -shared -fPIC -o pam_lean_signin.so lean_signin.c -lpam -lssl -lcrypto -ljson-c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BODY_MAX (256 * 1024)

static int urlencode(char *out, size_t cap, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++) {
		if (n + 4 > cap)
			return -1;
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			out[n++] = (char)*p;
		} else {
			out[n++] = '%';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 15];
		}
	}
	out[n] = '\0';
	return 0;
}

static int connect_to(const char *host, const char *port, int timeout_s)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *ai = NULL;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
		if (fd < 0)
			continue;
		struct timeval tv = { timeout_s, 0 };
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* One POST; returns the HTTP status and the body in *body (malloc'd), or -1. */
static long post(const char *url, const char *cafile, const char *form, char **body)
{
	char host[256], port[8] = "443";
	const char *p = url + strlen("https://");
	size_t hl = strcspn(p, ":/");
	if (strncmp(url, "https://", 8) != 0 || hl == 0 || hl >= sizeof host)
		return -1;
	memcpy(host, p, hl);
	host[hl] = '\0';
	if (p[hl] == ':')
		snprintf(port, sizeof port, "%.*s", (int)strcspn(p + hl + 1, "/"), p + hl + 1);

	long status = -1;
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *ssl = NULL;
	int fd = -1;
	char *buf = NULL;
	if (ctx == NULL)
		goto out;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if ((cafile ? SSL_CTX_load_verify_locations(ctx, cafile, NULL)
		    : SSL_CTX_set_default_verify_paths(ctx)) != 1)
		goto out;
	fd = connect_to(host, port, 10);
	if (fd < 0 || (ssl = SSL_new(ctx)) == NULL)
		goto out;
	SSL_set_fd(ssl, fd);
	struct in6_addr ip;
	if (inet_pton(AF_INET, host, &ip) != 1 && inet_pton(AF_INET6, host, &ip) != 1)
		SSL_set_tlsext_host_name(ssl, host);
	if (SSL_set1_host(ssl, host) != 1 || SSL_connect(ssl) != 1)
		goto out;
	char head[1024];
	int n = snprintf(head, sizeof head,
			 "POST /v1/client/sign_ins?_is_native=1 HTTP/1.1\r\nHost: %s:%s\r\n"
			 "User-Agent: lean_signin\r\nAccept: application/json\r\n"
			 "Clerk-API-Version: 2026-05-12\r\nAuthorization: \r\n"
			 "Content-Type: application/x-www-form-urlencoded\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
			 host, port, strlen(form));
	if (SSL_write(ssl, head, n) != n ||
	    SSL_write(ssl, form, (int)strlen(form)) != (int)strlen(form))
		goto out;
	size_t len = 0;
	buf = malloc(BODY_MAX + 1);
	if (buf == NULL)
		goto out;
	for (;;) {
		int r = SSL_read(ssl, buf + len, (int)(BODY_MAX - len));
		if (r <= 0)
			break;
		len += (size_t)r;
		if (len == BODY_MAX)
			break;
	}
	buf[len] = '\0';
	char *sep = strstr(buf, "\r\n\r\n");
	if (sep == NULL || sscanf(buf, "HTTP/1.%*d %ld", &status) != 1) {
		status = -1;
		goto out;
	}
	*body = strdup(sep + 4);
out:
	if (buf != NULL) {
		explicit_bzero(buf, BODY_MAX);
		free(buf);
	}
	if (ssl != NULL)
		SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	return status;
}

__attribute__((visibility("default"))) int pam_sm_authenticate(pam_handle_t *pamh, int flags,
							       int argc, const char **argv)
{
	(void)flags;
	const char *url = NULL, *cafile = NULL, *user = NULL, *password = NULL;
	for (int i = 0; i < argc; i++) {
		if (strncmp(argv[i], "frontend_api=", 13) == 0)
			url = argv[i] + 13;
		else if (strncmp(argv[i], "cafile=", 7) == 0)
			cafile = argv[i] + 7;
	}
	if (url == NULL)
		return PAM_SERVICE_ERR;
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || user == NULL ||
	    pam_get_authtok(pamh, PAM_AUTHTOK, &password, NULL) != PAM_SUCCESS ||
	    password == NULL || *password == '\0')
		return PAM_AUTH_ERR;
	char id[1536], pw[1536], form[3300];
	if (urlencode(id, sizeof id, user) != 0 || urlencode(pw, sizeof pw, password) != 0)
		return PAM_AUTH_ERR;
	snprintf(form, sizeof form, "strategy=password&identifier=%s&password=%s", id, pw);
	explicit_bzero(pw, sizeof pw);
	char *body = NULL;
	long status = post(url, cafile, form, &body);
	explicit_bzero(form, sizeof form);
	int rc = status < 0 ? PAM_AUTHINFO_UNAVAIL : PAM_AUTH_ERR;
	if (status == 200 && body != NULL) {
		json_object *root = json_tokener_parse(body), *resp, *st;
		if (root != NULL && json_object_object_get_ex(root, "response", &resp) &&
		    json_object_object_get_ex(resp, "status", &st) &&
		    json_object_is_type(st, json_type_string) &&
		    strcmp(json_object_get_string(st), "complete") == 0)
			rc = PAM_SUCCESS;
		json_object_put(root);
	}
	free(body);
	return rc;
}

__attribute__((visibility("default"))) int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc,
							  const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_IGNORE;
}
