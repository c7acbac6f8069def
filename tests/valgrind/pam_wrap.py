"""pytest plugin: run the hosts of the PAM-level tests (tests/pam: pam_driver.py under
pam_wrapper, and pamtester) under valgrind memcheck, or with the sanitizer runtime of an
--enable-sanitizers build preloaded. The tests themselves are unchanged; the plugin patches
tests/pam/conftest.py's PamRunner once it is imported.

    PAM_WRAP=valgrind  PYTHONPATH=tests/valgrind  python3 -m pytest -p pam_wrap pam
    PAM_WRAP=asan      PYTEST_ADDOPTS="-p pam_wrap" PYTHONPATH=$PWD/tests/valgrind  make check

valgrind: every driver runs as valgrind --tool=memcheck ... /usr/bin/python3 pam_driver.py
  (PYTHONMALLOC=malloc, so that memcheck sees Python's allocations), one log per process in
  $PAM_WRAP_LOGDIR (default /tmp/pam-wrap-valgrind); tests/valgrind/summarize.py reads them.
  Suppressions: tests/valgrind/*.supp (hosts.supp). Options: $PAM_WRAP_VALGRIND_OPTS (added).
asan: LD_PRELOAD starts with the ASan runtime (gcc's libasan, or $PAM_WRAP_PRELOAD), since a
  sanitized module cannot be loaded into an uninstrumented host otherwise. Leak detection is
  off in these hosts (Python's own allocations would drown the module's); leaks are
  valgrind's job and the C stress program's.
"""
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
MODE = os.environ.get("PAM_WRAP", "")


def _asan_runtime():
    lib = os.environ.get("PAM_WRAP_PRELOAD")
    if lib:
        return lib
    cc = os.environ.get("CC", "gcc")
    for name in ("libasan.so",):
        out = subprocess.run([cc, "-print-file-name=" + name], capture_output=True, text=True)
        path = os.path.realpath(out.stdout.strip())
        if out.returncode == 0 and os.path.isabs(path) and os.path.exists(path):
            return path
    raise pytest.UsageError("PAM_WRAP=asan: no ASan runtime found; set PAM_WRAP_PRELOAD")


def valgrind_command(logdir):
    supps = sorted(os.path.join(HERE, f) for f in os.listdir(HERE) if f.endswith(".supp"))
    cmd = ["valgrind", "--tool=memcheck", "--leak-check=full",
           "--show-leak-kinds=definite,possible", "--errors-for-leak-kinds=definite",
           "--num-callers=40", "--trace-children=no",
           "--log-file=%s/vg.%%p.log" % logdir]
    cmd += ["--suppressions=%s" % s for s in supps]
    cmd += os.environ.get("PAM_WRAP_VALGRIND_OPTS", "").split()
    return cmd


def _patch(conftest):
    runner = conftest.PamRunner
    original_env = runner.env
    if getattr(original_env, "_pam_wrap", False):
        return

    if MODE == "asan":
        runtime = _asan_runtime()

        def env(self, *args, **kw):
            e = original_env(self, *args, **kw)
            e["LD_PRELOAD"] = runtime + ":" + e.get("LD_PRELOAD", "")
            e["ASAN_OPTIONS"] = os.environ.get(
                "PAM_WRAP_ASAN_OPTIONS",
                "detect_leaks=0:abort_on_error=0:exitcode=86:verify_asan_link_order=0")
            e["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=87"
            return e
    elif MODE == "valgrind":
        logdir = os.environ.get("PAM_WRAP_LOGDIR", "/tmp/pam-wrap-valgrind")
        os.makedirs(logdir, exist_ok=True)
        wrapper = os.path.join(logdir, "python3-under-valgrind")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec %s /usr/bin/python3 \"$@\"\n" % " ".join(
                "'%s'" % a for a in valgrind_command(logdir)))
        os.chmod(wrapper, 0o755)
        conftest.PYTHON = wrapper

        def env(self, *args, **kw):
            e = original_env(self, *args, **kw)
            e["PYTHONMALLOC"] = "malloc"
            return e
    else:
        raise pytest.UsageError("PAM_WRAP must be valgrind or asan, not %r" % MODE)
    env._pam_wrap = True
    runner.env = env


def _find_conftests():
    for mod in list(sys.modules.values()):
        f = getattr(mod, "__file__", None) or ""
        if f.endswith(os.path.join("tests", "pam", "conftest.py")) and hasattr(mod, "PamRunner"):
            yield mod


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    if not MODE:
        return
    for mod in _find_conftests():   # none when another suite (tests/e2e) runs
        _patch(mod)


def pytest_report_header(config):
    if MODE:
        return "pam_wrap: PAM hosts run with %s" % MODE
