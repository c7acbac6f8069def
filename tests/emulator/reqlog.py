"""The request log: one JSON record per FAPI or BAPI request, in memory and in
DIR/requests.jsonl, with secrets redacted (Authorization value, so never the BAPI secret
key; form password/code; query __clerk_db_jwt)."""
import hashlib
import json
import threading
import time

REDACT_FORM = ("password", "code", "token", "ticket", "signature", "proof_token")
REDACT_QUERY = ("__clerk_db_jwt", "__dev_session")
DROP_HEADERS = ("authorization", "cookie")


def redacted(value):
    return "<redacted:%d>" % len(value)


def make_record(req, status, clerk_error=None, sign_in_status=None, fault=None, api="fapi",
                jwt_faults=None):
    auth = req.headers.get("authorization")
    headers = {k: v for k, v in req.headers.items() if k not in DROP_HEADERS}
    if "cookie" in req.headers:
        headers["cookie"] = redacted(req.headers["cookie"])
    return {
        "t": time.time(),
        "method": req.method,
        "path": req.path,
        "query": {k: (redacted(v) if k in REDACT_QUERY else v) for k, v in req.query.items()},
        "headers": headers,
        "form": {k: (redacted(v) if k in REDACT_FORM else v) for k, v in req.form.items()},
        "authorization": {
            "present": auth is not None,
            "empty": auth is not None and auth.strip() == "",
            "sha256_12": (hashlib.sha256(auth.encode("utf-8", "replace")).hexdigest()[:12]
                          if auth else None),
        },
        "status": status,
        "clerk_error": clerk_error,
        "sign_in_status": sign_in_status,
        "listener": req.listener,
        "fault": fault,
        "api": api,
        "jwt_faults": list(jwt_faults or []),
    }


class RequestLog:
    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._records = []
        open(self.path, "w").close()

    def append(self, record):
        line = json.dumps(record, separators=(",", ":")) + "\n"
        with self._lock:
            self._records.append(record)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)

    def list(self):
        with self._lock:
            return list(self._records)

    def clear(self):
        with self._lock:
            self._records.clear()
            open(self.path, "w").close()
