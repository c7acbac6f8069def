"""In-memory state: users (from the fixture), clients, sign-ins, sessions, lockout counters,
rate-limit windows, dev-browser tokens, Device Trust, used backup codes, and an outbox for
the codes the emulator "sends" (prepare_second_factor).
"""
import collections
import hashlib
import json
import secrets
import threading
import time

import otp

STATES = ("active", "locked", "banned", "deactivated")
TASK_KEYS = ("reset-password", "setup-mfa", "choose-organization")
SECOND_FACTORS = ("totp", "phone_code", "email_code", "backup_code")
LOCKOUT_SECONDS = 3600
RATE_WINDOW = 10.0
CODE_TTL = 600.0            # seconds an emailed/SMS code stays valid
CODE_MAX_ATTEMPTS = 5       # wrong codes before the verification fails


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


_FIRST = object()
ORG_KEYS = ("id", "slug", "role")


def _org(user_id, org):
    """One membership {id, slug, role (without `org:`), name}."""
    if not (isinstance(org, dict) and all(isinstance(org.get(k), str) and org[k]
                                          for k in ORG_KEYS)
            and isinstance(org.get("name", ""), str)):
        raise UserError("%s: an organization must be {id: org_..., slug, role[, name]}" % user_id)
    org = {"id": org["id"], "slug": org["slug"], "role": org["role"],
           "name": org.get("name") or org["slug"]}
    if org["role"].startswith("org:"):
        org["role"] = org["role"][4:]
    return org


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
        # the code every password sign-in of this user gets (no_password_set, ...), or None
        self.password_error = d.get("password_error")
        if self.password_error is not None and not (
                isinstance(self.password_error, str) and self.password_error.isidentifier()):
            raise UserError("%s: password_error must be an error code" % self.id)
        tasks = d.get("session_tasks") or []
        if not isinstance(tasks, list) or not all(t in TASK_KEYS for t in tasks):
            raise UserError("%s: session_tasks must be a list of %s" % (self.id,
                                                                      ", ".join(TASK_KEYS)))
        self.session_tasks = list(dict.fromkeys(tasks))
        self.organizations = self._organizations(d)
        # the single `organization` field of older fixtures = the first membership
        self.organization = self.organizations[0] if self.organizations else None
        default = d.get("default_organization", _FIRST)
        if default is _FIRST:
            self.default_org = self.organization
        elif default is None:
            self.default_org = None          # new sessions start on the personal account
        else:
            self.default_org = self.find_org(default) if isinstance(default, str) else None
            if self.default_org is None:
                raise UserError("%s: default_organization must be null or the id or slug of "
                                "one of the user's organizations" % self.id)
        self.first_name = d.get("first_name")
        self.last_name = d.get("last_name")
        self.created_at = d.get("created_at") or 1735689600000
        self._second_factor_fields(d)
        self.emails = self._addresses(d, "email_addresses", "email", "email_address")
        self.phones = self._addresses(d, "phone_numbers", "phone", "phone_number")
        # default: with second factors a correct password asks for one
        self.after_password = d.get("after_password") or (
            "needs_second_factor" if self.second_factors else "complete")

    def _organizations(self, d):
        """Memberships in order: `organization` (older fixtures) first, then
        `organizations`; one per org id."""
        listed = d.get("organizations")
        if listed is not None and not isinstance(listed, list):
            raise UserError("%s: organizations must be a list" % self.id)
        out = []
        single = d.get("organization")
        for o in ([single] if single is not None else []) + list(listed or []):
            o = _org(self.id, o)
            if any(x["id"] == o["id"] for x in out):
                continue
            if any(x["slug"] == o["slug"] for x in out):
                raise UserError("%s: two organizations with slug %r" % (self.id, o["slug"]))
            out.append(o)
        return out

    def find_org(self, ident):
        """The membership whose id or slug is `ident`, or None."""
        for o in self.organizations:
            if ident in (o["id"], o["slug"]):
                return o
        return None

    def _second_factor_fields(self, d):
        sf = d.get("second_factors") or []
        if not isinstance(sf, list) or not all(s in SECOND_FACTORS for s in sf):
            raise UserError("%s: second_factors must be a list of %s" % (
                self.id, ", ".join(SECOND_FACTORS)))
        self.second_factors = list(dict.fromkeys(sf))
        default = d.get("default_second_factor")
        if default is not None and default not in self.second_factors:
            raise UserError("%s: default_second_factor must be one of second_factors" % self.id)
        self.default_second_factor = default or (self.second_factors[0]
                                                 if self.second_factors else None)
        self.totp_secret = d.get("totp_secret")
        if self.totp_secret is not None:
            try:
                otp.b32_secret(self.totp_secret)
            except ValueError:
                raise UserError("%s: totp_secret must be base32" % self.id) from None
        codes = d.get("backup_codes") or []
        if not isinstance(codes, list) or not all(isinstance(c, str) and c for c in codes):
            raise UserError("%s: backup_codes must be a list of strings" % self.id)
        self.backup_codes = list(codes)

    def _addresses(self, d, key, field, kind):
        """[(id, address)]: the fixture's list (not sign-in identifiers unless also listed
        there) or, without one, the identifiers of that kind with derived ids."""
        given = d.get(key)
        if given is None:
            return [(ident_id(self.id, i), i) for i in self.idents_of(kind)]
        if not isinstance(given, list):
            raise UserError("%s: %s must be a list of {id, %s}" % (self.id, key, field))
        out = []
        for e in given:
            if not (isinstance(e, dict) and isinstance(e.get("id"), str) and
                    e["id"].startswith("idn_") and isinstance(e.get(field), str) and
                    identifier_kind(e[field].strip()) == kind):
                raise UserError("%s: each of %s must be {id: idn_..., %s}" % (self.id, key, field))
            out.append((e["id"], e[field].strip()))
        return out

    @property
    def mfa_strategies(self):
        """Second factors a password sign-in asks for (needs_second_factor): the user's list,
        or totp for a user set to needs_second_factor without one."""
        if self.second_factors:
            return list(self.second_factors)
        return ["totp"] if self.after_password == "needs_second_factor" else []

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
        self.trusted_users = set()                    # Device Trust: users known on this client
        self.revoked = None                           # error code its tokens now get

    @property
    def trusted(self):
        return bool(self.trusted_users)


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
        self.ended_at = None          # ms: when it was ended or removed


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
        self.factors = None           # supported_second_factors offered (None: derive)
        self.trust_challenge = False  # the second factor is a Device Trust check
        self.pending = None           # prepared email/SMS code {strategy, code, to, ...}
        self.attempts = {}            # strategy -> attempt_second_factor calls
        self.created_at = t
        self.abandon_at = t + 86400 * 1000


class Outbox:
    """Codes the emulator 'sent' (email/SMS): {t, strategy, to, code, sign_in_id, user_id}.
    Read through the control API only; never logged."""

    def __init__(self):
        self._items = []

    def add(self, **item):
        self._items.append(dict(item, t=time.time()))

    def list(self):
        return list(self._items)

    def clear(self):
        self._items.clear()


class Store:
    def __init__(self, users_file, lockout_threshold=10, rate_limit=None,
                 attempt_rate_limit=None, attempt_rate_window=RATE_WINDOW, code_ttl=CODE_TTL):
        self.lock = threading.RLock()
        self.users_file = users_file
        self.lockout_threshold = lockout_threshold
        self.rate_limit = rate_limit
        self.attempt_rate_limit = attempt_rate_limit
        self.attempt_rate_window = attempt_rate_window
        self.code_ttl = code_ttl
        self.lockout_seconds = LOCKOUT_SECONDS
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
            self.attempt_window = collections.deque()
            self.dev_browsers = set()
            self.outbox = Outbox()
            self.used_backup_codes = {}    # user id -> set of used codes
            self.next_codes = collections.deque()   # control API: the next codes, in order
            self.fixed_code = None         # control API: every later code is this
            self.last_sign_in = {}         # user id -> ms of the last session created
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
            self.used_backup_codes.pop(u.id, None)
        return u

    def delete_user(self, user_id):
        """Clerk deletes the user (Backend API DELETE /v1/users/{id}): True if it was there."""
        with self.lock:
            u = self.users.pop(user_id, None)
            for i in (u.identifiers if u else []):
                self.by_ident.pop(normalise_identifier(i), None)
        return u is not None

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
                self.locked_until[user.id] = time.time() + self.lockout_seconds
            return n

    def record_success(self, user):
        with self.lock:
            self.failures.pop(user.id, None)

    # ---- rate limit ------------------------------------------------------------------
    def _window_check(self, window, limit, seconds):
        if not limit:
            return None
        with self.lock:
            t = time.monotonic()
            while window and window[0] <= t - seconds:
                window.popleft()
            if len(window) >= limit:
                return max(1, int(window[0] + seconds - t + 0.999))
            window.append(t)
            return None

    def rate_check(self):
        """None if a sign-in creation may go ahead (and count it), else Retry-After seconds."""
        return self._window_check(self.rate_window, self.rate_limit, RATE_WINDOW)

    def attempt_rate_check(self):
        """The same for attempt_first_factor / attempt_second_factor calls."""
        return self._window_check(self.attempt_window, self.attempt_rate_limit,
                                  self.attempt_rate_window)

    # ---- second factors, Device Trust, codes ---------------------------------------
    def use_backup_code(self, user, code):
        """True (and the code is used up) if `code` is one of the user's unused codes."""
        with self.lock:
            used = self.used_backup_codes.setdefault(user.id, set())
            code = code.strip()
            if code in user.backup_codes and code not in used:
                used.add(code)
                return True
            return False

    def trust(self, client, user):
        with self.lock:
            client.trusted_users.add(user.id)

    def is_trusted(self, client, user):
        with self.lock:
            return user.id in client.trusted_users

    def new_code(self):
        with self.lock:
            if self.next_codes:
                return self.next_codes.popleft()
            return self.fixed_code or otp.random_code()

    def expire_codes(self, sign_in_id=None):
        """Make prepared codes (of one sign-in, or all) expired; returns how many."""
        n = 0
        with self.lock:
            for si in self.sign_ins.values():
                if si.pending and (sign_in_id is None or si.id == sign_in_id):
                    si.pending["expire_at"] = min(si.pending["expire_at"], now_ms() - 1)
                    n += 1
        return n

    def clients_of_user(self, user_id):
        with self.lock:
            ids = {s.client_id for c in self.clients.values() for s in c.sessions.values()
                   if s.user_id == user_id}
            ids |= {si.client_id for si in self.sign_ins.values() if si.user_id == user_id}
            ids |= {c.id for c in self.clients.values() if user_id in c.trusted_users}
            return [self.clients[i] for i in ids if i in self.clients]

    def revoke_clients(self, user_id=None, code="authentication_invalid"):
        """From now on every token of these clients gets 401 `code`. Returns how many."""
        with self.lock:
            victims = list(self.clients.values()) if user_id is None else \
                self.clients_of_user(user_id)
            for c in victims:
                c.revoked = code
            return len(victims)

    # ---- sessions / sign-ins ---------------------------------------------------------
    def active_session_for(self, client, user):
        with self.lock:
            for s in client.sessions.values():
                if s.user_id == user.id and s.status in ("active", "pending"):
                    return s
            return None

    def any_active_session(self, client):
        """Single-session mode: any active or pending session on the client, or None."""
        with self.lock:
            for s in client.sessions.values():
                if s.status in ("active", "pending"):
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
            s = Session(client, user, user.default_org)
            client.sessions[s.id] = s
            client.last_active_session_id = s.id
            client.updated_at = now_ms()
            self.last_sign_in[user.id] = s.created_at
            return s

    def all_sessions(self):
        with self.lock:
            return [s for c in self.clients.values() for s in c.sessions.values()]

    def end_session(self, session, status):
        """Mark a session ended or removed (keeps the first ended_at)."""
        with self.lock:
            session.status = status
            session.updated_at = now_ms()
            if session.ended_at is None:
                session.ended_at = session.updated_at

    # ---- organizations ---------------------------------------------------------------
    def org_members(self, ident):
        """[(user, membership)] of the organization with this id or slug, fixture order."""
        with self.lock:
            out = []
            for u in self.users.values():
                m = u.find_org(ident)
                if m is not None:
                    out.append((u, m))
            return out

    def org_info(self, ident):
        """{id, slug, name, members_count} of a known organization, or None."""
        members = self.org_members(ident)
        if not members:
            return None
        first = members[0][1]
        return {"id": first["id"], "slug": first["slug"], "name": first["name"],
                "members_count": len(members)}

    def find_org(self, user, ident):
        return user.find_org(ident)
