"""In-memory state: users (from the fixture), clients, sign-ins, sessions, lockout counters,
rate-limit window, dev-browser tokens, and an outbox for codes the emulator "sends".

Shaped for what comes later: a SignIn keeps first- and second-factor verifications as
separate dicts, a User carries its second factors (`second_factors`, `totp_secret`,
`backup_codes`), a Client has a `trusted` flag for Device Trust, and `Outbox` records codes
sent by a future prepare_*_factor.
"""
import collections
import hashlib
import json
import secrets
import threading
import time

STATES = ("active", "locked", "banned", "deactivated")
LOCKOUT_SECONDS = 3600
RATE_WINDOW = 10.0


def now_ms():
    return int(time.time() * 1000)


def new_id(prefix):
    return prefix + "_" + secrets.token_hex(12)


def ident_id(user_id, ident):
    return "idn_" + hashlib.sha256((user_id + ":" + ident).encode()).hexdigest()[:24]


def identifier_kind(ident):
    if "@" in ident:
        return "email_address"
    if ident.startswith("+"):
        return "phone_number"
    return "username"


def normalise_identifier(ident):
    ident = ident.strip()
    return ident if ident.startswith("+") else ident.lower()


class UserError(ValueError):
    pass


class User:
    """A fixture user. `raw` keeps the fixture dict for fields added later."""

    def __init__(self, d):
        if not isinstance(d, dict):
            raise UserError("user must be an object")
        self.raw = d
        self.id = d.get("id")
        if not isinstance(self.id, str) or not self.id.startswith("user_"):
            raise UserError("user id must be a string starting with user_")
        idents = d.get("identifiers")
        if not isinstance(idents, list) or not idents or \
                not all(isinstance(i, str) and i for i in idents):
            raise UserError("%s: identifiers must be a non-empty list of strings" % self.id)
        self.identifiers = [i.strip() for i in idents]
        self.password = d.get("password")
        if self.password is not None and not isinstance(self.password, str):
            raise UserError("%s: password must be a string or null" % self.id)
        self.state = d.get("state", "active")
        if self.state not in STATES:
            raise UserError("%s: state must be one of %s" % (self.id, ", ".join(STATES)))
        self.pwned = bool(d.get("pwned", False))
        self.after_password = d.get("after_password") or "complete"
        org = d.get("organization")
        if org is not None and not (isinstance(org, dict) and
                                    all(isinstance(org.get(k), str) for k in ("id", "slug", "role"))):
            raise UserError("%s: organization must be {id, slug, role}" % self.id)
        if org is not None:
            org = dict(org)
            if org["role"].startswith("org:"):
                org["role"] = org["role"][4:]
            org.setdefault("name", org["slug"])
        self.organization = org
        self.first_name = d.get("first_name")
        self.last_name = d.get("last_name")
        # later: second factors and their secrets
        self.second_factors = list(d.get("second_factors") or [])
        self.totp_secret = d.get("totp_secret")
        self.backup_codes = list(d.get("backup_codes") or [])
        self.created_at = d.get("created_at") or 1735689600000

    def idents_of(self, kind):
        return [i for i in self.identifiers if identifier_kind(i) == kind]

    @property
    def username(self):
        u = self.idents_of("username")
        return u[0] if u else None


class Client:
    def __init__(self, token):
        self.id = new_id("client")
        self.token = token
        self.created_at = self.updated_at = now_ms()
        self.sessions = collections.OrderedDict()   # id -> Session (all statuses)
        self.sign_in = None                           # current SignIn
        self.last_active_session_id = None
        self.last_authentication_strategy = None
        self.trusted = False                          # Device Trust, later


class Session:
    def __init__(self, client, user, org):
        t = now_ms()
        self.id = new_id("sess")
        self.client_id = client.id
        self.user_id = user.id
        self.status = "active"
        self.created_at = self.updated_at = self.last_active_at = t
        self.expire_at = t + 7 * 86400 * 1000
        self.abandon_at = t + 30 * 86400 * 1000
        self.active_org = org
        self.last_jwt = None
        self.factor_verification_age = [0, -1]
        self.tasks = None


class SignIn:
    def __init__(self, client, identifier, user):
        t = now_ms()
        self.id = new_id("sia")
        self.client_id = client.id
        self.identifier = identifier
        self.user_id = user.id if user else None
        self.status = "needs_identifier"
        self.first_factor = None      # verification dict
        self.second_factor = None     # verification dict
        self.created_session_id = None
        self.client_trust_state = None
        self.created_at = t
        self.abandon_at = t + 86400 * 1000


class Outbox:
    """Codes the emulator 'sent' (email/SMS); read by tests through the control API later."""

    def __init__(self):
        self._items = []

    def add(self, **item):
        self._items.append(dict(item, at=time.time()))

    def list(self):
        return list(self._items)

    def clear(self):
        self._items.clear()


class Store:
    def __init__(self, users_file, lockout_threshold=10, rate_limit=None):
        self.lock = threading.RLock()
        self.users_file = users_file
        self.lockout_threshold = lockout_threshold
        self.rate_limit = rate_limit
        self.reset()

    # ---- lifecycle -------------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.users = {}
            self.by_ident = {}
            self.clients = {}          # id -> Client
            self.by_token = {}         # every client token ever issued -> Client
            self.sign_ins = {}         # id -> SignIn
            self.failures = {}         # user id -> failed password count
            self.locked_until = {}     # user id -> epoch seconds
            self.rate_window = collections.deque()
            self.dev_browsers = set()
            self.outbox = Outbox()
            if self.users_file:
                with open(self.users_file, encoding="utf-8") as f:
                    users = json.load(f)
                if not isinstance(users, list):
                    raise UserError("users file must hold a JSON list")
                for u in users:
                    self.put_user(u)

    def put_user(self, d):
        u = User(d)
        with self.lock:
            old = self.users.get(u.id)
            if old:
                for i in old.identifiers:
                    self.by_ident.pop(normalise_identifier(i), None)
            for i in u.identifiers:
                other = self.by_ident.get(normalise_identifier(i))
                if other is not None and other.id != u.id:
                    raise UserError("identifier %r already belongs to %s" % (i, other.id))
            self.users[u.id] = u
            for i in u.identifiers:
                self.by_ident[normalise_identifier(i)] = u
            self.failures.pop(u.id, None)
            self.locked_until.pop(u.id, None)
        return u

    def find_user(self, identifier):
        with self.lock:
            return self.by_ident.get(normalise_identifier(identifier))

    # ---- clients ---------------------------------------------------------------------
    def new_client(self, mint):
        with self.lock:
            c = Client(None)
            self.rotate_token(c, mint)
            self.clients[c.id] = c
            return c

    def rotate_token(self, client, mint):
        with self.lock:
            client.token = mint({"id": client.id})
            self.by_token[client.token] = client
            return client.token

    def client_for_token(self, token):
        with self.lock:
            return self.by_token.get(token)

    # ---- lockout ---------------------------------------------------------------------
    def lockout_remaining(self, user):
        """Seconds left on a counter lockout (0 = not locked by failures)."""
        with self.lock:
            until = self.locked_until.get(user.id)
            if until is None:
                return 0
            left = int(until - time.time())
            if left <= 0:
                self.locked_until.pop(user.id, None)
                self.failures.pop(user.id, None)
                return 0
            return left

    def record_failure(self, user):
        with self.lock:
            n = self.failures.get(user.id, 0) + 1
            self.failures[user.id] = n
            if n >= self.lockout_threshold:
                self.locked_until[user.id] = time.time() + LOCKOUT_SECONDS
            return n

    def record_success(self, user):
        with self.lock:
            self.failures.pop(user.id, None)

    # ---- rate limit ------------------------------------------------------------------
    def rate_check(self):
        """None if a sign-in creation may go ahead (and count it), else Retry-After seconds."""
        if not self.rate_limit:
            return None
        with self.lock:
            t = time.monotonic()
            while self.rate_window and self.rate_window[0] <= t - RATE_WINDOW:
                self.rate_window.popleft()
            if len(self.rate_window) >= self.rate_limit:
                return max(1, int(self.rate_window[0] + RATE_WINDOW - t + 0.999))
            self.rate_window.append(t)
            return None

    # ---- sessions / sign-ins ---------------------------------------------------------
    def active_session_for(self, client, user):
        with self.lock:
            for s in client.sessions.values():
                if s.user_id == user.id and s.status in ("active", "pending"):
                    return s
            return None

    def new_sign_in(self, client, identifier, user):
        with self.lock:
            si = SignIn(client, identifier, user)
            self.sign_ins[si.id] = si
            client.sign_in = si
            client.updated_at = now_ms()
            return si

    def new_session(self, client, user):
        with self.lock:
            s = Session(client, user, user.organization)
            client.sessions[s.id] = s
            client.last_active_session_id = s.id
            client.updated_at = now_ms()
            return s

    def find_org(self, user, ident):
        org = user.organization
        if org and ident in (org["id"], org["slug"]):
            return org
        return None
