#!/usr/bin/python3
"""Run one PAM transaction through real libpam under pam_wrapper.

Runs in its own process (pam_wrapper must be preloaded before libpam loads,
and a crash in the module must fail a test, not the test runner). Reads a
JSON request on stdin (passwords never go on a command line), prints a JSON
result on stdout. PAM's log lines reach stderr through pam_wrapper.
"""
import json
import re
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


def main():
    req = json.load(sys.stdin)
    cases = [pypamtest.TestCase(OPS[op], rv, flags)
             for op, rv, flags in req["ops"]]
    out = {"ok": True, "info": [], "errors": []}
    try:
        # pypamtest takes the user before the service, whatever its doc says.
        res = pypamtest.run_pamtest(req["user"], req["service"], cases,
                                    req.get("echo_off", []),
                                    req.get("echo_on", []))
        out["info"] = list(res.info)
        out["errors"] = list(res.errors)
    except pypamtest.PamTestError as e:
        out["ok"] = False
        text = str(e.args[0]) if e.args else str(e)
        out["error"] = text
        m = FAILED.search(text)
        if m:
            out["op_code"] = int(m.group(1))
            out["expected"] = int(m.group(2))
            out["actual"] = int(m.group(4))
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
