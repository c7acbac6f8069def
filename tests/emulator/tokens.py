"""RS256 session JWTs (claims v1/v2, JWT templates, JWT faults), the JWKS and its key
rotation, and opaque-but-JWT-shaped client / dev-browser tokens."""
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

SESSION_CATEGORY = "cl_B7d4PD111AAA"
TEMPLATE_CATEGORY = "cl_B7d4PD222AAA"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _int_b64(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def _json(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode("utf-8")


def _pem_line(public_pem):
    """The PEM body on one line, without the BEGIN/END lines (= base64 of the
    SubjectPublicKeyInfo DER)."""
    lines = public_pem.decode("ascii").strip().splitlines()
    return "".join(l for l in lines if not l.startswith("-----"))


class SigningKey:
    """One RSA-2048 JWT signing key with its kid and JWK."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.key.public_key()
        der = pub.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = "ins_" + hashlib.sha256(der).hexdigest()[:24]
        self.public_pem = pub.public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
        self.public_line = _pem_line(self.public_pem)
        nums = pub.public_numbers()
        self.jwk = {"use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256",
                    "n": _int_b64(nums.n), "e": _int_b64(nums.e)}

    def sign_raw(self, header, claims, alg="RS256"):
        signing_input = b64url(_json(header)) + "." + b64url(_json(claims))
        digest = hashes.SHA512() if alg == "RS512" else hashes.SHA256()
        sig = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), digest)
        return signing_input + "." + b64url(sig)


JWT_FAULT_KINDS = ("bad_signature", "wrong_iss", "expired", "not_yet_valid", "alg_none",
                   "hs256", "unknown_kid", "wrong_sid", "wrong_sub", "rs512", "no_exp",
                   "sts_pending")
WRONG_ISSUER = "https://clerk.wrong-issuer.invalid"


class Keyring:
    """The instance's JWT keys: the current one signs, the JWKS serves the current one
    first, then any kept after a rotation. Generated once per emulator start; the public
    PEM of the current key is kept in DIR/jwt_public_key.pem (the private one in
    DIR/jwt_signing_key.pem)."""

    def __init__(self, state_dir):
        self.state_dir = state_dir
        self.lock = threading.Lock()
        self.initial = SigningKey()
        self.keys = [self.initial]
        self._stray = None               # the unknown_kid fault's key (never in the JWKS)
        self._write()

    @property
    def current(self):
        return self.keys[0]

    # compatibility with the single-key API
    @property
    def kid(self):
        return self.current.kid

    @property
    def public_pem(self):
        return self.current.public_pem

    def _write(self):
        cur = self.current
        fd = os.open(os.path.join(self.state_dir, "jwt_signing_key.pem"),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(cur.key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        path = os.path.join(self.state_dir, "jwt_public_key.pem")
        with open(path + ".tmp", "wb") as f:
            f.write(cur.public_pem)
        os.replace(path + ".tmp", path)

    def info(self):
        with self.lock:
            cur = self.current
            return {"kid": cur.kid, "kids": [k.kid for k in self.keys],
                    "jwt_public_key_pem": cur.public_pem.decode("ascii"),
                    "jwt_public_key_line": cur.public_line}

    def rotate(self, keep_old=True):
        new = SigningKey()
        with self.lock:
            self.keys = [new] + (self.keys if keep_old else [])
            self._write()
        return self.info()

    def reset(self):
        """Back to the key the emulator started with (control reset)."""
        with self.lock:
            if self.keys != [self.initial]:
                self.keys = [self.initial]
                self._write()

    def jwks(self):
        with self.lock:
            return {"keys": [dict(k.jwk) for k in self.keys]}

    def stray(self):
        with self.lock:
            if self._stray is None:
                self._stray = SigningKey()
            return self._stray

    # ---- signing ---------------------------------------------------------------------
    def sign(self, claims, category=SESSION_CATEGORY, fault=None):
        """A JWT over `claims`; `fault` (one of JWT_FAULT_KINDS or None) damages it."""
        with self.lock:
            key = self.current
        claims = dict(claims)
        header = {"alg": "RS256", "cat": category, "kid": key.kid, "typ": "JWT"}
        now = claims.get("iat", int(time.time()))
        if fault == "wrong_iss":
            claims["iss"] = WRONG_ISSUER
        elif fault == "expired":
            life = claims.get("exp", now + 60) - now
            skew = now - claims.get("nbf", now - 10)
            claims["iat"] = now - 3600
            claims["nbf"] = claims["iat"] - skew
            claims["exp"] = claims["iat"] + life          # an hour ago, give or take
        elif fault == "not_yet_valid":
            life = claims.get("exp", now + 60) - now
            claims["iat"] = claims["nbf"] = now + 3600
            claims["exp"] = claims["nbf"] + life
        elif fault == "wrong_sid":
            claims["sid"] = "sess_" + secrets.token_hex(12)
        elif fault == "wrong_sub":
            claims["sub"] = "user_" + secrets.token_hex(12)
        elif fault == "no_exp":
            claims.pop("exp", None)
        elif fault == "sts_pending":
            claims["sts"] = "pending"          # a pending session's token
        if fault == "alg_none":
            header["alg"] = "none"
            return b64url(_json(header)) + "." + b64url(_json(claims)) + "."
        if fault == "hs256":
            # the classic confusion attack: HMAC keyed with the RSA public key's PEM bytes
            header["alg"] = "HS256"
            si = b64url(_json(header)) + "." + b64url(_json(claims))
            mac = hmac.new(key.public_pem, si.encode("ascii"), hashlib.sha256).digest()
            return si + "." + b64url(mac)
        if fault == "unknown_kid":
            stray = self.stray()
            header["kid"] = stray.kid
            return stray.sign_raw(header, claims)
        if fault == "rs512":
            header["alg"] = "RS512"
            return key.sign_raw(header, claims, "RS512")
        jwt = key.sign_raw(header, claims)
        if fault == "bad_signature":
            si, _, sig = jwt.rpartition(".")
            raw = bytearray(b64url_decode(sig))
            for i in (0, len(raw) // 2, len(raw) - 1):
                raw[i] ^= 0x5A
            jwt = si + "." + b64url(bytes(raw))
        return jwt


CLAIMS_VERSIONS = ("v1", "v2")


def session_claims(iss, user_id, session_id, org=None, now=None, lifetime=60, fva=None,
                   version="v2", skew=10):
    """Session token claims (see FAPI-NOTES section 9): v2 (default) carries `v` 2 and the
    organization as `o` {id, slg, rol}; v1 carries org_id, org_slug, org_role (`org:` role)
    and org_permissions, and no `v`."""
    now = int(now if now is not None else time.time())
    # no "azp": it carries the request Origin, and native clients send none
    claims = {"exp": now + lifetime, "fva": list(fva or [0, -1]), "iat": now, "iss": iss,
              "jti": secrets.token_hex(10), "nbf": now - skew, "sid": session_id,
              "sub": user_id}
    if version == "v1":
        if org:
            claims.update(org_id=org["id"], org_slug=org["slug"],
                          org_role="org:" + org["role"],
                          org_permissions=list(org_permissions(org["role"])))
        return claims
    claims["v"] = 2
    if org:
        claims["o"] = {"id": org["id"], "slg": org["slug"], "rol": org["role"]}
    return claims


ADMIN_PERMISSIONS = ("org:sys_profile:manage", "org:sys_profile:delete",
                     "org:sys_memberships:read", "org:sys_memberships:manage",
                     "org:sys_domains:read", "org:sys_domains:manage")
MEMBER_PERMISSIONS = ("org:sys_memberships:read",)


def org_permissions(role):
    """System permissions of the default roles (custom roles get none)."""
    if role == "admin":
        return ADMIN_PERMISSIONS
    if role == "member":
        return MEMBER_PERMISSIONS
    return ()


# ---- JWT templates ---------------------------------------------------------------------
# name -> {claims, lifetime, allowed_clock_skew}; claims values may be shortcodes
DEFAULT_TEMPLATES = {
    "pam": {"claims": {"email": "{{user.primary_email_address}}"}, "lifetime": 300,
            "allowed_clock_skew": 10},
}
SHORTCODE_RE = re.compile(r"^\{\{\s*([a-z_.]+)\s*\}\}$")


class TemplateError(ValueError):
    pass


def check_template(name, body):
    """Validate a template definition; returns the normalised one."""
    if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.-]{1,64}$", name):
        raise TemplateError("template name must be 1-64 of [A-Za-z0-9_.-]")
    claims = body.get("claims", {})
    if not isinstance(claims, dict):
        raise TemplateError("claims must be an object")
    reserved = set(claims) & {"iss", "sub", "iat", "nbf", "exp", "jti", "sid", "azp"}
    if reserved:
        raise TemplateError("reserved claim(s): %s" % ", ".join(sorted(reserved)))
    lifetime = body.get("lifetime", 60)
    skew = body.get("allowed_clock_skew", 10)
    for key, value, lo, hi in (("lifetime", lifetime, 30, 315360000),
                               ("allowed_clock_skew", skew, 0, 300)):
        if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
            raise TemplateError("%s must be an integer in [%d, %d]" % (key, lo, hi))
    return {"claims": claims, "lifetime": lifetime, "allowed_clock_skew": skew}


def _shortcode(value, ctx):
    if isinstance(value, str):
        m = SHORTCODE_RE.match(value)
        if m:
            return ctx.get(m.group(1))
        return value
    if isinstance(value, dict):
        return {k: _shortcode(v, ctx) for k, v in value.items()}
    if isinstance(value, list):
        return [_shortcode(v, ctx) for v in value]
    return value


def template_claims(template, iss, user, session_id, org, now=None, sid=True):
    """Claims of a JWT-template token: iss, sub, iat, nbf, exp, jti (and sid when `sid`:
    real Clerk puts none in a template token), then the template's own claims with
    shortcodes filled in."""
    now = int(now if now is not None else time.time())
    emails = [a for _, a in user.emails]
    phones = [p for _, p in user.phones]
    ctx = {"user.id": user.id, "user.username": user.username,
           "user.first_name": user.first_name, "user.last_name": user.last_name,
           "user.primary_email_address": emails[0] if emails else None,
           "user.primary_phone_number": phones[0] if phones else None,
           "session.id": session_id,
           "org.id": org["id"] if org else None, "org.slug": org["slug"] if org else None,
           "org.name": org["name"] if org else None,
           "org.role": "org:" + org["role"] if org else None}
    claims = {"exp": now + template["lifetime"], "iat": now, "iss": iss,
              "jti": secrets.token_hex(10), "nbf": now - template["allowed_clock_skew"],
              "sid": session_id, "sub": user.id}
    if not sid:
        del claims["sid"]
    claims.update(_shortcode(template["claims"], ctx))
    return claims


class OpaqueTokens:
    """HMAC-signed, JWT-shaped tokens (cheap) for client tokens and dev-browser tokens.
    Validity is decided by the store (a token must have been issued), not by the MAC."""

    def __init__(self):
        self._secret = secrets.token_bytes(32)

    def mint(self, claims):
        header = {"alg": "HS256", "typ": "JWT"}
        claims = dict(claims, rotating_token=secrets.token_urlsafe(24), iat=int(time.time()))
        si = b64url(_json(header)) + "." + b64url(_json(claims))
        mac = hmac.new(self._secret, si.encode("ascii"), hashlib.sha256).digest()
        return si + "." + b64url(mac)
