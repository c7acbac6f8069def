"""Server side of the control API (/__emulator/...): JSON in, JSON out, never logged."""
import json

import faults as faults_mod
from store import UserError


class ControlApi:
    def __init__(self, store, faults, reqlog):
        self.store = store
        self.faults = faults
        self.reqlog = reqlog

    def handle(self, method, path, body):
        route = path[len("/__emulator/"):].rstrip("/")
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else None
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": "body must be JSON"}
        try:
            if route == "reset" and method == "POST":
                self.store.reset()
                self.faults.clear()
                self.reqlog.clear()
                return 200, {"ok": True}
            if route == "users" and method == "POST":
                user = self.store.put_user(data)
                return 200, {"ok": True, "id": user.id}
            if route == "users" and method == "GET":
                with self.store.lock:
                    return 200, [u.raw.get("id") for u in self.store.users.values()]
            if route == "requests" and method == "GET":
                return 200, self.reqlog.list()
            if route == "requests" and method == "DELETE":
                self.reqlog.clear()
                return 200, {"ok": True}
            if route == "faults" and method == "POST":
                self.faults.add(faults_mod.parse(data))
                return 200, {"ok": True, "faults": self.faults.list()}
            if route == "faults" and method == "GET":
                return 200, self.faults.list()
            if route == "faults" and method == "DELETE":
                self.faults.clear()
                return 200, {"ok": True}
            if route == "outbox" and method == "GET":
                with self.store.lock:
                    return 200, self.store.outbox.list()
            if route == "clients/revoke" and method == "POST":
                return self._revoke(data or {})
            if route == "codes/expire" and method == "POST":
                sid = (data or {}).get("sign_in_id")
                return 200, {"ok": True, "expired": self.store.expire_codes(sid)}
            if route in ("codes/fixed", "codes/next") and method == "POST":
                code = (data or {}).get("code")
                if not (isinstance(code, str) and len(code) == 6 and code.isdigit()) and \
                        not (code is None and route == "codes/fixed"):
                    return 400, {"error": "code must be 6 digits%s" % (
                        " or null" if route == "codes/fixed" else "")}
                with self.store.lock:
                    if route == "codes/fixed":
                        self.store.fixed_code = code
                    else:
                        self.store.next_codes.append(code)
                return 200, {"ok": True}
            if route == "health" and method == "GET":
                return 200, {"ok": True}
        except (faults_mod.FaultError, UserError) as e:
            return 400, {"error": str(e)}
        return 404, {"error": "unknown control route %s %s" % (method, path)}

    def _revoke(self, data):
        if not isinstance(data, dict) or set(data) - {"user_id", "signed_out"}:
            return 400, {"error": "body must be {} or {\"user_id\": ..., \"signed_out\": bool}"}
        uid = data.get("user_id")
        if uid is not None and uid not in self.store.users:
            return 400, {"error": "unknown user %r" % uid}
        code = "signed_out" if data.get("signed_out") else "authentication_invalid"
        return 200, {"ok": True, "revoked": self.store.revoke_clients(uid, code)}
