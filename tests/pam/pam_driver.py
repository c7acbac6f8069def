#!/usr/bin/python3
"""Run one PAM transaction through real libpam under pam_wrapper.

Runs in its own process (pam_wrapper must be preloaded before libpam loads,
and a crash in the module must fail a test, not the test runner). Reads a
JSON request on stdin (passwords never go on a command line), prints a JSON
result on stdout. PAM's log lines reach stderr through pam_wrapper.
"""
import json
import re
import signal
import sys

import pypamtest

OPS = {
    "authenticate": pypamtest.PAMTEST_AUTHENTICATE,
    "setcred": pypamtest.PAMTEST_SETCRED,
    "acct_mgmt": pypamtest.PAMTEST_ACCOUNT,
    "open_session": pypamtest.PAMTEST_OPEN_SESSION,
    "close_session": pypamtest.PAMTEST_CLOSE_SESSION,
    "chauthtok": pypamtest.PAMTEST_CHAUTHTOK,
    "getenvlist": pypamtest.PAMTEST_GETENVLIST,
}

FAILED = re.compile(r"Test case \{ pam_operation \[(\d+)\] expected_rv \[(-?\d+)\] "
                    r"flags \[(\d+)\] \} returned \[(-?\d+)\]")


def signal_state():
    """What a module must leave as it found it: the mask and SIGPIPE's handler."""
    mask = sorted(int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, []))
    handler = signal.getsignal(signal.SIGPIPE)
    return {"mask": mask, "sigpipe": getattr(handler, "name", str(handler))}


def main():
    req = json.load(sys.stdin)
    cases = [pypamtest.TestCase(OPS[op], rv, flags)
             for op, rv, flags in req["ops"]]
    out = {"ok": True, "info": [], "errors": [], "rounds": 0,
           "signals_before": signal_state()}
    try:
        # "repeat" runs whole transactions (pam_start .. pam_end, so the module
        # is loaded and unloaded each time) in this one process, each with the
        # same conversation answers.
        for _ in range(req.get("repeat", 1)):
            # pypamtest takes the user before the service, whatever its doc says.
            res = pypamtest.run_pamtest(req["user"], req["service"], cases,
                                        req.get("echo_off", []),
                                        req.get("echo_on", []))
            out["rounds"] += 1
        out["info"] = list(res.info)
        out["errors"] = list(res.errors)
        for case, (op, _, _) in zip(cases, req["ops"]):
            if op == "getenvlist":
                out["env"] = dict(case.pam_env or {})
    except pypamtest.PamTestError as e:
        out["ok"] = False
        text = str(e.args[0]) if e.args else str(e)
        out["error"] = text
        m = FAILED.search(text)
        if m:
            out["op_code"] = int(m.group(1))
            out["expected"] = int(m.group(2))
            out["actual"] = int(m.group(4))
    out["signals_after"] = signal_state()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
