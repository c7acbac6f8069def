"""A strict session-JWT verifier for the emulator's tests (python3-cryptography): the checks
a careful server-side client makes, each failing with its own `JwtError.kind`, so a test
can tell which defect a JWT fault produced.

    header, claims = verify(jwt, jwks, issuer=emu.url, sid=..., sub=...)
"""
import base64
import json
import time

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HASHES = {"RS256": hashes.SHA256, "RS384": hashes.SHA384, "RS512": hashes.SHA512}


class JwtError(Exception):
    def __init__(self, kind, detail=""):
        super().__init__("%s: %s" % (kind, detail) if detail else kind)
        self.kind = kind


def b64d(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64e(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def decode(jwt):
    """(header, claims, signing_input bytes, signature bytes), nothing checked."""
    parts = jwt.split(".")
    if len(parts) != 3:
        raise JwtError("format", "%d parts" % len(parts))
    h, c, s = parts
    return json.loads(b64d(h)), json.loads(b64d(c)), (h + "." + c).encode("ascii"), b64d(s)


def jwk_key(jwk):
    n = int.from_bytes(b64d(jwk["n"]), "big")
    e = int.from_bytes(b64d(jwk["e"]), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def pem_key(pem):
    return serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)


def verify(jwt, jwks, issuer, now=None, leeway=5, algs=("RS256",), sid=None, sub=None,
           require_typ=True):
    """Check in this order: shape, typ, alg allow-list, kid in the JWKS, signature, iss,
    exp present, exp, nbf, sid, sub. Returns (header, claims) or raises JwtError with kind
    format|typ|alg|kid|signature|iss|exp_missing|expired|not_yet_valid|sid|sub."""
    header, claims, signing_input, sig = decode(jwt)
    if require_typ and header.get("typ") != "JWT":
        raise JwtError("typ", header.get("typ"))
    alg = header.get("alg")
    if alg not in algs:
        raise JwtError("alg", alg)
    keys = {k["kid"]: k for k in jwks["keys"]}
    if header.get("kid") not in keys:
        raise JwtError("kid", header.get("kid"))
    try:
        jwk_key(keys[header["kid"]]).verify(sig, signing_input, padding.PKCS1v15(),
                                           HASHES[alg]())
    except InvalidSignature:
        raise JwtError("signature") from None
    if claims.get("iss") != issuer:
        raise JwtError("iss", claims.get("iss"))
    now = time.time() if now is None else now
    if "exp" not in claims:
        raise JwtError("exp_missing")
    if now > claims["exp"] + leeway:
        raise JwtError("expired", "exp %s, now %d" % (claims["exp"], now))
    if "nbf" in claims and now + leeway < claims["nbf"]:
        raise JwtError("not_yet_valid", "nbf %s, now %d" % (claims["nbf"], now))
    if sid is not None and claims.get("sid") != sid:
        raise JwtError("sid", claims.get("sid"))
    if sub is not None and claims.get("sub") != sub:
        raise JwtError("sub", claims.get("sub"))
    return header, claims
