"""One-time codes: RFC 6238 TOTP (SHA-1, 30 s, 6 digits) and random 6-digit OTPs.
Stdlib only, so control.py can use it too."""
import base64
import binascii
import hashlib
import hmac
import secrets
import struct
import time

PERIOD = 30
DIGITS = 6


def b32_secret(secret_b32):
    """Bytes of a base32 secret (case, spaces and missing padding tolerated); ValueError if bad."""
    s = "".join(str(secret_b32).split()).upper().rstrip("=")
    if not s:
        raise ValueError("empty base32 secret")
    try:
        return base64.b32decode(s + "=" * (-len(s) % 8))
    except (binascii.Error, ValueError):
        raise ValueError("secret is not valid base32") from None


def hotp(key, counter, digits=DIGITS):
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF
    return str(value % (10 ** digits)).zfill(digits)


def totp(secret_b32, at=None, step=0):
    """The TOTP code for `at` (epoch seconds, default now), shifted by `step` periods."""
    t = time.time() if at is None else at
    return hotp(b32_secret(secret_b32), int(t // PERIOD) + int(step))


def totp_ok(secret_b32, code, at=None, window=1):
    """True if `code` is the TOTP of the current period or of one `window` periods around it."""
    if not secret_b32 or not isinstance(code, str):
        return False
    code = code.strip()
    if len(code) != DIGITS or not code.isdigit():
        return False
    return any(hmac.compare_digest(totp(secret_b32, at, s), code)
               for s in range(-window, window + 1))


def random_code():
    return "%06d" % secrets.randbelow(10 ** DIGITS)
