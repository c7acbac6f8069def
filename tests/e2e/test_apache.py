"""README's Apache recipe: Apache 2.4 with the event MPM and mod_authnz_pam
(HTTP Basic auth through PAM service "apache2" = etc/apache2.pam), with the
site configuration of etc/apache2-clerk.conf (mod_authn_socache in front of
PAM), run by Debian's /usr/sbin/apache2 on a loopback port in a Sandbox,
its worker as www-data.

  - 16 concurrent clients, 300 requests mixing right and wrong passwords
    for 3 Clerk users, through the recipe's location and through one
    without the cache (every request a sign-in): no wrong answer, no crash,
    no live Clerk session left;
  - the worker's memory over 5,000 requests once warm;
  - a stack without end_session leaves no live session either (the default
    ends it at authentication, issue 15 item 1);
  - as www-data with a state_dir it cannot use: one log line for the worker
    process, not one per request, and one JWKS fetch for every login
    (issue 15 item 2);
  - cached_auth_timeout: one sign-in per user for many requests, a wrong
    password still refused by Clerk (issue 15 item 3).

The Apache server is one process with one worker child (ServerLimit 1,
ThreadsPerChild 16), so that the child's memory is the module's. These
tests make hundreds of sign-ins: they ask the emulator for its kind world
(no rate limits) by name, as real Clerk allows 5 sign-ins per 10 s per IP.
"""
import base64
import concurrent.futures
import http.client
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

import e2e
import recipes

APACHE = "/usr/sbin/apache2"
MODULES = "/usr/lib/apache2/modules"
NEEDED_MODULES = ["mpm_event", "authn_core", "authz_core", "auth_basic", "authz_user",
                  "authn_socache", "socache_shmcb", "authnz_pam"]
USERS = {"alice": "correct horse", "bob": "battery staple", "ileap-demo": "HelloPrimaryData"}
BODY = "clerk-apache-ok"

pytestmark = [
    e2e.needs_root, e2e.needs_tools(APACHE, "setpriv", "unshare"),
    pytest.mark.skipif(not os.path.exists(os.path.join(MODULES, "mod_authnz_pam.so")),
                       reason="no mod_authnz_pam (apt-get install apache2 "
                       "libapache2-mod-authnz-pam)"),
]


# ---- the emulator, kind world ------------------------------------------------------------
def kind_options():
    """The emulator's kind world: 300 sign-ins in seconds, past Clerk's per-IP limits."""
    return {"profile": "kind"}


@pytest.fixture(scope="module")
def kind_emulator(tmp_path_factory):
    if not e2e.is_root():
        pytest.skip("end-to-end tests run as root")
    e2e.need_module()
    emu = e2e.Emulator(str(tmp_path_factory.mktemp("emulator-kind")), **kind_options()).start()
    yield emu
    emu.stop()


@pytest.fixture
def kemu(kind_emulator):
    kind_emulator.reset()
    yield kind_emulator
    kind_emulator.clear_faults()


# ---- Apache ------------------------------------------------------------------------------
class Apache:
    """apache2 -DFOREGROUND with a configuration of its own, in a Sandbox."""

    def __init__(self, workdir, syslog, services, site):
        self.dir = workdir                       # world-readable: the worker is www-data
        self.sandbox = e2e.Sandbox(os.path.join(self.dir, "sandbox"), syslog)
        for name, lines in services.items():
            self.sandbox.service(name, lines)
        self.port = e2e.free_port()
        www = os.path.join(self.dir, "www")
        for loc in ("private", "nocache", "default-end", "statedir", "cached"):
            os.makedirs(os.path.join(www, loc), exist_ok=True)
            with open(os.path.join(www, loc, "ok.html"), "w") as f:
                f.write(BODY + "\n")
        run = os.path.join(self.dir, "run")
        os.makedirs(run, exist_ok=True)
        self.error_log = os.path.join(self.dir, "error.log")
        self.conf = os.path.join(self.dir, "apache2.conf")
        loads = ["LoadModule %s_module %s/mod_%s.so" % (m, MODULES, m) for m in NEEDED_MODULES]
        with open(self.conf, "w") as f:
            f.write("\n".join(loads + [
                "ServerRoot %s" % self.dir,
                "ServerName localhost",
                "Listen 127.0.0.1:%d" % self.port,
                "PidFile %s" % os.path.join(run, "apache2.pid"),
                "DefaultRuntimeDir %s" % run,
                "Mutex file:%s default" % run,
                "User www-data",
                "Group www-data",
                "ErrorLog %s" % self.error_log,
                "LogLevel warn",
                "DocumentRoot %s" % www,
                "<Directory %s>" % www, "  Require all granted", "</Directory>",
                # One worker process of 16 threads: its memory is the module's.
                "StartServers 1", "ServerLimit 1", "ThreadLimit 16", "ThreadsPerChild 16",
                "MinSpareThreads 1", "MaxSpareThreads 16", "MaxRequestWorkers 16",
                "MaxConnectionsPerChild 0",
                "KeepAlive Off",
                site,
            ]) + "\n")
        os.chmod(self.conf, 0o644)
        self.proc = None

    def start(self):
        check = self.sandbox.run([APACHE, "-t", "-f", self.conf])
        assert check.returncode == 0, "apache2 -t: %s%s" % (check.stdout, check.stderr)
        self._out = open(os.path.join(self.dir, "stdout.log"), "wb")
        self.proc = self.sandbox.popen(["setpriv", "--pdeathsig", "TERM", "--", APACHE,
                                        "-f", self.conf, "-DFOREGROUND"],
                                       stdin=subprocess.DEVNULL, stdout=self._out,
                                       stderr=self._out, env=e2e.clean_env())
        deadline = time.monotonic() + 20
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("apache2 exited (%s): %s" % (self.proc.returncode,
                                                                  self.log()))
            try:
                if self.get("/") in (200, 403, 404) and self.children():
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError("apache2 not answering: %s" % self.log())
            time.sleep(0.1)

    def children(self):
        out = []
        for d in os.listdir("/proc"):
            if d.isdigit():
                try:
                    with open("/proc/%s/stat" % d) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == self.proc.pid:
                        out.append(int(d))
                except (OSError, IndexError, ValueError):
                    pass
        return sorted(out)

    @staticmethod
    def rss_kib(pid):
        with open("/proc/%d/status" % pid) as f:
            return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))

    def get(self, path, user=None, password=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            headers = {}
            if user is not None:
                cred = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
                headers["Authorization"] = "Basic " + cred
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            self.last_body = resp.read().decode("utf-8", "replace")
            return resp.status
        finally:
            conn.close()

    def fetch(self, path, user, password):
        """(status, body) of one authenticated GET."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            cred = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
            conn.request("GET", path, headers={"Authorization": "Basic " + cred})
            resp = conn.getresponse()
            return resp.status, resp.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def log(self):
        text = ""
        for p in (self.error_log, os.path.join(self.dir, "stdout.log")):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()[-4000:]
            except OSError:
                pass
        return text

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None:
            self._out.close()
        self.proc = None


def site_conf():
    """etc/apache2-clerk.conf as shipped, plus two locations of the test's own:
    /nocache (PAM on every request), /default-end (a stack without end_session),
    /statedir (a root-only state_dir, export_env) and /cached (cached_auth_timeout)."""
    with open(os.path.join(recipes.ETC, "apache2-clerk.conf")) as f:
        shipped = f.read()
    extra = []
    for loc, service, provider in (("/nocache", "apache2", "PAM"),
                                   ("/default-end", "apache2-default-end", "PAM"),
                                   ("/statedir", "apache2-statedir", "PAM"),
                                   ("/cached", "apache2-cached", "PAM")):
        extra += ['<Location "%s">' % loc, "    AuthType Basic", '    AuthName "Clerk"',
                  "    AuthBasicProvider %s" % provider, "    AuthPAMService %s" % service,
                  "    Require valid-user", "</Location>"]
    return shipped + "\n" + "\n".join(extra)


def readable_copy(src, dst_dir):
    dst = os.path.join(dst_dir, os.path.basename(src))
    shutil.copyfile(src, dst)
    os.chown(dst, 0, 0)
    os.chmod(dst, 0o644)
    return dst


@pytest.fixture(scope="module")
def apache(kind_emulator):
    syslog = e2e.SyslogSink()
    work = tempfile.mkdtemp(prefix="clerk-e2e-apache-")
    os.chmod(work, 0o755)
    server = None
    try:
        # www-data reads the configuration and the CA: root-owned, 0644 (README).
        conf = e2e.write_root_file(os.path.join(work, "pam_clerk.conf"),
                                   "identifier = %u@way.cloud\n", mode=0o644)
        ca = readable_copy(kind_emulator.ca_file, work)
        args = ["conf=%s" % conf, "frontend_api=%s" % kind_emulator.url, "cafile=%s" % ca]
        sample = recipes.sample_lines("apache2.pam")
        stack = [recipes.with_module(ln, e2e.MODULE, args) for ln in sample]
        default_end = [re.sub(r"\s*end_session=auth", "", ln) for ln in stack]
        assert default_end != stack, "the sample no longer sets end_session=auth"
        # A state_dir only root can use; export_env makes every login verify its token.
        closed = os.path.join(work, "root-state")
        os.mkdir(closed, 0o700)
        statedir = [re.sub(r"state_dir=none", "state_dir=%s export_env" % closed, ln)
                    for ln in stack]
        assert statedir != stack, "the sample no longer sets state_dir=none"
        cached = [ln + " cached_auth_timeout=60" if ln.split()[0] == "auth" else ln
                  for ln in stack]
        server = Apache(work, syslog, {"apache2": stack, "apache2-default-end": default_end,
                                       "apache2-statedir": statedir, "apache2-cached": cached},
                        site_conf())
        server.syslog = syslog
        server.stack = stack
        yield server.start()
    finally:
        if server is not None:
            server.stop()
        syslog.close()
        shutil.rmtree(work, ignore_errors=True)


# ---- the requests ------------------------------------------------------------------------
def plan(n, wrong_every=3):
    """n (user, password, right?) requests over the 3 users, every wrong_every-th of a
    user's requests with a wrong password."""
    names = sorted(USERS)
    out = []
    for i in range(n):
        user = names[i % len(names)]
        wrong = (i // len(names)) % wrong_every == wrong_every - 1
        out.append((user, "wrong-%d" % i if wrong else USERS[user], not wrong))
    return out


def run_concurrently(apache, path, requests, workers=16):
    """[(user, right?, status, body)] of the requests sent by `workers` threads."""
    def one(req):
        user, password, right = req
        status, body = apache.fetch(path, user, password)
        return user, right, status, body
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, requests))


def wrong_answers(results):
    return [(u, right, status) for u, right, status, body in results
            if (right and (status != 200 or BODY not in body)) or (not right and status != 401)]


@pytest.mark.parametrize("path", ["/private/ok.html", "/nocache/ok.html"],
                         ids=["recipe-with-socache", "pam-every-request"])
def test_concurrent_mixed_requests(path, apache, kemu):
    children = apache.children()
    t0 = time.monotonic()
    requests = plan(300)
    n_wrong = sum(1 for r in requests if not r[2])
    assert n_wrong == 99
    results = run_concurrently(apache, path, requests)
    assert len(results) == 300
    assert wrong_answers(results) == [], apache.log()
    print("%s: 300 requests in %.1f s" % (path, time.monotonic() - t0))
    # No crash: the same single worker process, nothing in the error log.
    assert apache.proc.poll() is None
    assert apache.children() == children, (children, apache.children())
    assert not re.search(r"(?i)segmentation fault|exit signal|child pid \d+ exit", apache.log())
    sign_ins = [r for r in kemu.requests() if r["method"] == "POST"
                and r["path"] == "/v1/client/sign_ins"]
    print("%s: %d sign-ins" % (path, len(sign_ins)))
    if path.startswith("/nocache"):
        assert len(sign_ins) == 300
    else:
        # The cache answers a cached user's requests (a wrong password is refused
        # there too); only the first requests of each user reach Clerk.
        assert len(USERS) <= len(sign_ins) < 100, len(sign_ins)
    # end_session=auth: every sign-in's session has been ended.
    assert kemu.sessions(status="active") == []


def test_no_warning_per_request_as_www_data(apache, kemu):
    """state_dir=none: the worker (www-data) does not complain about state_dir."""
    apache.syslog.clear()
    for user, password in USERS.items():
        assert apache.fetch("/nocache/ok.html", user, password)[0] == 200
    assert len(apache.syslog.attempts()) == len(USERS), apache.syslog.text()
    noise = [ln for ln in apache.syslog.lines() if "pam_clerk" in ln and " outcome=" not in ln]
    assert noise == [], noise


def test_no_live_session_without_end_session_setting(apache, kemu):
    """Default end_session (auth): mod_authnz_pam runs no session stage, so only the
    module itself can end what it began (issue 15 item 1)."""
    results = run_concurrently(apache, "/default-end/ok.html", plan(30, wrong_every=1000))
    assert wrong_answers(results) == []
    assert len([s for s in kemu.sessions()]) == 30
    assert kemu.sessions(status="active") == []


def test_unusable_state_dir_one_line_one_jwks_fetch(apache, kemu):
    """www-data and a root-only state_dir: the worker says so once, not per request,
    and verifies every login's token with one JWKS fetch (issue 15 item 2)."""
    apache.syslog.clear()
    n = 30
    # One login first: concurrent logins of a cold worker may each fetch once.
    assert apache.fetch("/statedir/ok.html", "alice", USERS["alice"])[0] == 200
    results = run_concurrently(apache, "/statedir/ok.html", plan(n - 1, wrong_every=1000))
    assert wrong_answers(results) == [], apache.log()
    assert len(apache.syslog.attempts()) == n, apache.syslog.text()
    noise = [ln for ln in apache.syslog.lines() if "pam_clerk" in ln and " outcome=" not in ln]
    assert len(noise) <= 1 and all("goes on without it" in ln for ln in noise), noise
    fetches = [r for r in kemu.requests() if r["path"] == "/.well-known/jwks.json"]
    print("statedir: %d logins, %d JWKS fetches, %d state_dir lines" % (n, len(fetches),
                                                                        len(noise)))
    assert len(fetches) == 1
    assert kemu.sessions(status="active") == []


def test_success_cache_one_sign_in_per_user(apache, kemu):
    """cached_auth_timeout=60: after one sign-in per user, their requests are answered
    without Clerk; a wrong password still asks Clerk and is refused (issue 15 item 3)."""
    apache.syslog.clear()
    for user, password in sorted(USERS.items()):
        assert apache.fetch("/cached/ok.html", user, password)[0] == 200
    results = run_concurrently(apache, "/cached/ok.html", plan(60, wrong_every=1000))
    assert wrong_answers(results) == []
    sign_ins = [r for r in kemu.requests() if r["path"] == "/v1/client/sign_ins"]
    assert len(sign_ins) == len(USERS), len(sign_ins)
    cached = [ln for ln in apache.syslog.lines() if " outcome=cached " in ln]
    assert len(cached) == 60, apache.syslog.text()
    assert apache.fetch("/cached/ok.html", "alice", "not the password")[0] == 401
    assert len([r for r in kemu.requests() if r["path"] == "/v1/client/sign_ins"]) == 4
    # Refused since: the right password asks Clerk again, once.
    assert apache.fetch("/cached/ok.html", "alice", USERS["alice"])[0] == 200
    assert len([r for r in kemu.requests() if r["path"] == "/v1/client/sign_ins"]) == 5
    assert kemu.sessions(status="active") == []


def test_worker_memory_flat_over_5000_requests(apache, kemu, record_property):
    """Every request a sign-in (/nocache), a third of them wrong; RSS of the one worker
    process after a warm-up, then every 1,000 requests."""
    child = apache.children()
    assert len(child) == 1, child
    child = child[0]
    warm_up = int(os.environ.get("CLERK_E2E_APACHE_WARMUP", "3000"))
    rounds = int(os.environ.get("CLERK_E2E_APACHE_ROUNDS", "5"))
    warm = run_concurrently(apache, "/nocache/ok.html", plan(warm_up))
    assert wrong_answers(warm) == []
    samples = [Apache.rss_kib(child)]
    for k in range(rounds):
        results = run_concurrently(apache, "/nocache/ok.html", plan(1000))
        assert wrong_answers(results) == [], apache.log()
        samples.append(Apache.rss_kib(child))
    assert apache.children() == [child]
    record_property("worker_rss_kib", samples)
    print("worker RSS (KiB) after warm-up and every 1,000 requests: %s" % samples)
    # Flat: after the warm-up, the worker grows by less than 1 MiB over 5,000 requests
    # (Apache's own pools and glibc's per-thread arenas move by a few hundred KiB).
    assert samples[-1] - samples[0] < 1024, samples
    assert kemu.sessions(status="active") == []
