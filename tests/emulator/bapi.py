"""The Backend API (BAPI) part of the emulator: a few read-only endpoints a server-side
client needs, behind `Authorization: Bearer <secret key>`. Transport-independent like
fapi.py: takes a Request, returns a Response. Paths are those of backend-api.yml under
its server prefix /v1."""
import collections
import hmac
import math
import re
import threading
import time

import resources
from fapi import ClerkError, error_response, json_response

DEFAULT_SECRET_KEY = "sk_test_emulator_secret"
USER_RE = re.compile(r"^/v1/users/([^/]+)(/organization_memberships)?$")
ORG_MEMBERS_RE = re.compile(r"^/v1/organizations/([^/]+)/memberships$")
LIST_PARAMS = ("email_address", "phone_number", "username", "user_id", "external_id",
               "organization_id", "web3_wallet")


def _int_param(req, name, default, lo, hi):
    raw = req.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        n = int(raw)
    except ValueError:
        n = None
    if n is None or not lo <= n <= hi:
        raise ClerkError("form_param_value_invalid", {"param_name": name},
                         "%s must be an integer between %d and %d" % (name, lo, hi))
    return n


def _values(req, name):
    """Every value of an array query parameter (`x=a&x=b`, also `x=a,b`)."""
    out = []
    for v in req.query_all.get(name, []):
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def _page(items, req):
    limit = _int_param(req, "limit", 10, 1, 500)
    offset = _int_param(req, "offset", 0, 0, 10 ** 9)
    return items[offset:offset + limit]


# backend-api.yml: "1000 requests per 10 seconds for production instances and 100 requests
# per 10 seconds for development instances" (one window for the instance's Backend API)
RATE_WINDOW = 10.0


class Bapi:
    def __init__(self, store, keyring, secret_key=DEFAULT_SECRET_KEY, dev_instance=False):
        self.store = store
        self.key = keyring
        self.secret_key = secret_key
        self.default_limit = 100 if dev_instance else 1000
        self.limit = self.default_limit
        self._hits = collections.deque()
        self._rl_lock = threading.Lock()

    def set_rate_limit(self, per_window=None):
        """Requests per RATE_WINDOW seconds (None: the instance's default); a new window."""
        with self._rl_lock:
            self.limit = per_window or self.default_limit
            self._hits.clear()
        return self.limit

    def _retry_after(self):
        """None when this request is within the limit, else whole seconds to wait."""
        now = time.monotonic()
        with self._rl_lock:
            while self._hits and self._hits[0] <= now - RATE_WINDOW:
                self._hits.popleft()
            if len(self._hits) >= self.limit:
                return max(1, math.ceil(self._hits[0] + RATE_WINDOW - now))
            self._hits.append(now)
        return None

    def handle(self, req, fault=None):
        try:
            if fault is not None and fault.name in ("rate_limit", "error_code"):
                return self._fault_answer(fault)
            wait = self._retry_after()
            if wait is not None:
                raise ClerkError("too_many_requests", headers=[("Retry-After", str(wait))])
            self._authenticate(req)
            if req.method != "GET":
                raise ClerkError("resource_not_found", long_message=(
                    "The emulator's Backend API is read-only: no route for %s %s"
                    % (req.method, req.path[:100])))
            return self._route(req)
        except ClerkError as e:
            return error_response(e)

    def _fault_answer(self, fault):
        if fault.name == "rate_limit":
            hdrs = []
            if fault.params.get("retry_after") is not None:
                hdrs.append(("Retry-After", str(int(fault.params["retry_after"]))))
            return error_response(ClerkError("too_many_requests", headers=hdrs))
        p = fault.params
        return error_response(ClerkError(p["code"], meta=p.get("meta") or {},
                                         status=p.get("http_status"), message=p.get("message"),
                                         long_message=p.get("long_message"),
                                         trace_id=p.get("trace_id")))

    def _authenticate(self, req):
        auth = req.headers.get("authorization")
        if auth is None or not auth.startswith("Bearer ") or not auth[7:].strip():
            raise ClerkError("authorization_header_format_invalid")
        given = auth[7:].strip().encode("utf-8", "replace")
        if not hmac.compare_digest(given, self.secret_key.encode("utf-8")):
            raise ClerkError("clerk_key_invalid")

    # ---- routes ----------------------------------------------------------------------
    def _route(self, req):
        path = req.path.rstrip("/") or "/"
        if path == "/v1/jwks":
            return json_response(200, self.key.jwks())
        if path == "/v1/users":
            return self._list_users(req)
        m = USER_RE.match(path)
        if m:
            with self.store.lock:
                user = self.store.users.get(m.group(1))
                if m.group(2):
                    return self._memberships(req, [(user, o) for o in user.organizations]
                                             if user else [])
                if user is None:
                    raise ClerkError("resource_not_found", message="not found",
                                     long_message="No user was found with id %s"
                                     % m.group(1)[:60])
                return json_response(200, resources.bapi_user_json(user, self.store))
        m = ORG_MEMBERS_RE.match(path)
        if m:
            members = self.store.org_members(m.group(1))
            if not members:
                raise ClerkError("resource_not_found", message="not found",
                                 long_message="Given organization not found.")
            users = self._filter_users(req, [u for u, _ in members],
                                       ("user_id", "email_address", "phone_number",
                                        "username"))
            roles = set(_values(req, "role"))
            members = [(u, o) for u, o in members if u in users and
                       (not roles or "org:" + o["role"] in roles)]
            return self._memberships(req, members)
        raise ClerkError("resource_not_found", long_message="No route for GET %s" % path[:100])

    def _filter_users(self, req, users, params=LIST_PARAMS):
        """Users matching every given array parameter (any of its values)."""
        for name in params:
            want = _values(req, name)
            if not want and name not in req.query_all:
                continue
            if name in ("email_address", "username"):
                want = {w.lower() for w in want}
            else:
                want = set(want)
            users = [u for u in users if _keys(u, name) & want]
        return users

    def _list_users(self, req):
        with self.store.lock:
            users = self._filter_users(req, list(self.store.users.values()))
            q = (req.query.get("query") or "").strip().lower()
            if q:
                users = [u for u in users if any(q in (x or "").lower() for x in
                         [u.id, u.first_name, u.last_name] + u.identifiers +
                         [a for _, a in u.emails] + [p for _, p in u.phones])]
            banned = (req.query.get("banned") or "").lower()
            if banned in ("true", "false"):
                users = [u for u in users if (u.state == "banned") == (banned == "true")]
            order = req.query.get("order_by") or "-created_at"
            if order.lstrip("+-") == "created_at":
                users.sort(key=lambda u: u.created_at, reverse=order.startswith("-"))
            return json_response(200, [resources.bapi_user_json(u, self.store)
                                       for u in _page(users, req)])

    def _memberships(self, req, members):
        with self.store.lock:
            total = len(members)
            data = [resources.org_membership(u, o, self.store, bapi=True)
                    for u, o in _page(members, req)]
        return json_response(200, {"data": data, "total_count": total})


def _keys(user, name):
    """The values of `user` a list filter compares with."""
    if name == "email_address":
        return {a.lower() for _, a in user.emails} | \
            {i.lower() for i in user.idents_of("email_address")}
    if name == "phone_number":
        return {p for _, p in user.phones} | set(user.idents_of("phone_number"))
    if name == "username":
        return {i.lower() for i in user.idents_of("username")}
    if name == "user_id":
        return {user.id}
    if name == "organization_id":
        return {o["id"] for o in user.organizations} | {o["slug"] for o in user.organizations}
    return set()                 # external_id, web3_wallet: no fixture user has one
