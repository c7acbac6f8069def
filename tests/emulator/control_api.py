"""Server side of the control API (/__emulator/...): JSON in, JSON out, never logged."""
import json

import faults as faults_mod
import instance
import tokens
from store import UserError


class ControlApi:
    def __init__(self, store, faults, reqlog, app=None, keyring=None, bapi=None):
        self.bapi = bapi            # bapi.Bapi (its rate limit)
        self.store = store
        self.faults = faults
        self.reqlog = reqlog
        self.app = app              # fapi.Fapi (templates)
        self.keyring = keyring      # tokens.Keyring (rotation)

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
                out = {"ok": True}
                if self.app is not None:
                    self.app.reset_templates()
                    self.app.reset_settings()
                if self.keyring is not None:
                    self.keyring.reset()
                    out.update(self.keyring.info())
                if self.bapi is not None:
                    self.bapi.set_rate_limit(None)
                return 200, out
            if route == "bapi/rate_limit" and method == "POST" and self.bapi is not None:
                n = (data or {}).get("per_10s")
                if n is not None and (not isinstance(n, int) or isinstance(n, bool) or n < 1):
                    return 400, {"error": "per_10s must be a positive integer or null"}
                return 200, {"ok": True, "per_10s": self.bapi.set_rate_limit(n)}
            if route == "settings" and method == "GET" and self.app is not None:
                return 200, dict(self.app.settings)
            if route == "settings" and method == "POST" and self.app is not None:
                return 200, {"ok": True, "settings": self.app.update_settings(data)}
            if route == "sessions" and method == "GET":
                return 200, self._sessions()
            if route == "jwks" and method == "GET" and self.keyring is not None:
                return 200, dict(self.keyring.info(), jwks=self.keyring.jwks())
            if route == "jwks/rotate" and method == "POST" and self.keyring is not None:
                data = data or {}
                if not isinstance(data, dict) or set(data) - {"keep_old"} or \
                        not isinstance(data.get("keep_old", True), bool):
                    return 400, {"error": "body must be {} or {\"keep_old\": bool}"}
                return 200, dict(self.keyring.rotate(data.get("keep_old", True)), ok=True)
            if route == "templates" and method == "GET" and self.app is not None:
                return 200, self.app.list_templates()
            if route == "templates" and method == "POST" and self.app is not None:
                if not isinstance(data, dict) or not isinstance(data.get("name"), str):
                    return 400, {"error": "body must be {name, claims, lifetime, "
                                          "allowed_clock_skew}"}
                unknown = set(data) - {"name", "claims", "lifetime", "allowed_clock_skew"}
                if unknown:
                    return 400, {"error": "unknown field(s): %s" % ", ".join(sorted(unknown))}
                body = {k: v for k, v in data.items() if k != "name"}
                return 200, {"ok": True, "template": self.app.put_template(data["name"], body)}
            if route == "users" and method == "POST":
                user = self.store.put_user(data)
                return 200, {"ok": True, "id": user.id}
            if route == "users/bulk" and method == "POST":
                # many plain users at once (the sync benchmark): n, prefix
                n, prefix = data.get("n"), data.get("prefix") or "bulk"
                if not isinstance(n, int) or isinstance(n, bool) or not 0 < n <= 100000:
                    return 400, {"error": "n must be an integer 1..100000"}
                for i in range(n):
                    self.store.put_user({"id": "user_%s%06d" % (prefix, i),
                                         "identifiers": ["%s%06d" % (prefix, i)],
                                         "password": "bulk password %d" % i})
                return 200, {"ok": True, "n": n}
            if route.startswith("users/") and method == "DELETE":
                return 200, {"ok": True, "deleted": self.store.delete_user(route[6:])}
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
        except (faults_mod.FaultError, UserError, tokens.TemplateError,
                instance.SettingsError) as e:
            return 400, {"error": str(e)}
        return 404, {"error": "unknown control route %s %s" % (method, path)}

    def _sessions(self):
        """Every session of every client, oldest first."""
        with self.store.lock:
            out = []
            for s in sorted(self.store.all_sessions(), key=lambda x: x.created_at):
                c = self.store.clients.get(s.client_id)
                org = s.active_org
                out.append({"id": s.id, "status": s.status, "user_id": s.user_id,
                            "client_id": s.client_id,
                            "active_organization_id": org["id"] if org else None,
                            "active_organization_slug": org["slug"] if org else None,
                            "created_at": s.created_at, "updated_at": s.updated_at,
                            "last_active_at": s.last_active_at, "ended_at": s.ended_at,
                            "client_revoked": c.revoked if c else None})
            return out

    def _revoke(self, data):
        if not isinstance(data, dict) or set(data) - {"user_id", "signed_out", "forgotten"}:
            return 400, {"error": "body must be {} or {\"user_id\": ..., \"signed_out\": bool, "
                                  "\"forgotten\": bool}"}
        uid = data.get("user_id")
        if uid is not None and uid not in self.store.users:
            return 400, {"error": "unknown user %r" % uid}
        code = "signed_out" if data.get("signed_out") else "authentication_invalid"
        if data.get("forgotten"):
            code = "client_not_found"
        return 200, {"ok": True, "revoked": self.store.revoke_clients(uid, code)}
