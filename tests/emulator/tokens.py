"""RS256 session JWTs + JWKS, and opaque-but-JWT-shaped client / dev-browser tokens."""
import base64
import hashlib
import hmac
import json
import os
import secrets
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


class SigningKey:
    """The instance's RSA-2048 JWT signing key (generated once per emulator start)."""

    def __init__(self, state_dir):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pub = self.key.public_key()
        der = pub.public_bytes(serialization.Encoding.DER,
                               serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = "ins_" + hashlib.sha256(der).hexdigest()[:24]
        self.public_pem = pub.public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
        fd = os.open(os.path.join(state_dir, "jwt_signing_key.pem"),
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(self.key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
        with open(os.path.join(state_dir, "jwt_public_key.pem"), "wb") as f:
            f.write(self.public_pem)
        nums = pub.public_numbers()
        self.jwk = {"use": "sig", "kty": "RSA", "kid": self.kid, "alg": "RS256",
                    "n": _int_b64(nums.n), "e": _int_b64(nums.e)}

    def jwks(self):
        return {"keys": [dict(self.jwk)]}

    def sign(self, claims, category=SESSION_CATEGORY):
        header = {"alg": "RS256", "cat": category, "kid": self.kid, "typ": "JWT"}
        signing_input = b64url(_json(header)) + "." + b64url(_json(claims))
        sig = self.key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(sig)


def session_claims(iss, user_id, session_id, org=None, now=None, lifetime=60, fva=None):
    """Session token v2 claims (see FAPI-NOTES section 9)."""
    now = int(now or time.time())
    # no "azp": it carries the request Origin, and native clients send none
    claims = {"exp": now + lifetime, "fva": list(fva or [0, -1]), "iat": now, "iss": iss,
              "jti": secrets.token_hex(10), "nbf": now - 10, "sid": session_id, "sub": user_id,
              "v": 2}
    if org:
        claims["o"] = {"id": org["id"], "slg": org["slug"], "rol": org["role"]}
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
