"""The instance's settings, and the two named worlds (profiles) they start from.

`real` (the default) plays Clerk's production defaults as FAPI-NOTES section 11 reads them:
per-IP rate limits, lockout, single-session mode, native requests without an Authorization
header on the first call, template tokens without `sid`, a 404 for a forgotten client,
`email_link` beside `email_code` for Device Trust, no dev-browser demand in native mode.
`kind` is the emulator as it was before: no rate limits, multi-session answers, the
Authorization header required, `sid` in template tokens, Device Trust by code only, and a
dev instance that wants its dev browser on every request.
Every setting can be changed one by one (CLI, `Emulator(settings=...)`, control
`POST settings`); a control `reset` goes back to the settings the emulator started with.
"""
import copy

TASK_KEYS = ("reset-password", "setup-mfa", "choose-organization")

# setting -> (kind of value, real default, kind default)
SPECS = {
    "rate_limit": ("count", 5, None),               # sign-in creations per 10 s (None = off)
    "attempt_rate_limit": ("count", 3, None),       # factor attempts per window
    "attempt_rate_window": ("seconds", 10.0, 10.0),
    "lockout_threshold": ("count", 10, 10),         # failed attempts before user_locked
    "lockout_minutes": ("count", 60, 60),
    "lockout_enabled": ("bool", True, True),
    "single_session": ("bool", True, False),        # session_exists vs identifier_already_signed_in
    "auth_header_optional": ("bool", True, False),  # first native call may omit Authorization
    "accept_bearer": ("bool", True, False),         # `Bearer <token>` accepted from clients
    "bearer_tokens": ("bool", False, False),        # answers carry `Bearer <token>`
    "enumeration_protection": ("bool", False, False),
    "template_sid": ("bool", False, True),          # template tokens carry `sid`
    "trust_email_link": ("bool", True, False),      # Device Trust also offers email_link
    "dev_browser_native": ("bool", False, True),    # dev instance demands a dev browser of native calls
    "native_api": ("bool", True, True),             # False: every native call is native_api_disabled
    "device_attestation": ("bool", False, False),   # sign-in creation needs an attestation (401)
    "require_mfa": ("bool", False, False),          # users without MFA get a setup-mfa task
    "force_organization": ("bool", False, False),   # sessions without an org get choose-organization
    "session_tasks": ("tasks", None, None),         # every new session gets these tasks
    "password_enabled": ("bool", True, True),       # environment only
    "proxy_path": ("path", None, None),             # FAPI also served under this path prefix
    "issuer": ("url", None, None),                  # `iss` of every JWT (None = the main URL)
}
PROFILES = ("real", "kind")


class SettingsError(ValueError):
    pass


def defaults(profile="real"):
    if profile not in PROFILES:
        raise SettingsError("profile must be one of %s" % ", ".join(PROFILES))
    i = PROFILES.index(profile) + 1
    return {k: copy.deepcopy(v[i]) for k, v in SPECS.items()}


def check(name, value):
    """The validated value of one setting, or SettingsError."""
    if name not in SPECS:
        raise SettingsError("unknown setting %r; known: %s" % (name, ", ".join(sorted(SPECS))))
    kind = SPECS[name][0]
    if kind == "bool":
        if not isinstance(value, bool):
            raise SettingsError("%s must be true or false" % name)
        return value
    if kind == "count":
        if value is None or value == 0:
            return None if name in ("rate_limit", "attempt_rate_limit") else _bad(name)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 10 ** 6:
            _bad(name)
        return value
    if kind == "seconds":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or \
                not 0 < value <= 86400:
            raise SettingsError("%s must be seconds in (0, 86400]" % name)
        return float(value)
    if kind == "tasks":
        if value is None or value == []:
            return None
        if not isinstance(value, list) or not all(v in TASK_KEYS for v in value):
            raise SettingsError("%s must be null or a list of %s" % (name, ", ".join(TASK_KEYS)))
        return list(dict.fromkeys(value))
    if value is None:
        return None
    if kind == "path":
        if not isinstance(value, str) or not value.startswith("/") or value.endswith("/") or \
                value.startswith("/v1") or value.startswith("/__emulator") or \
                any(c in value for c in "?#% ") or len(value) > 100:
            raise SettingsError("%s must be null or a path such as /__clerk (no trailing /)"
                                % name)
        return value
    if not isinstance(value, str) or not value.startswith("https://") or len(value) > 200 \
            or any(c.isspace() for c in value):
        raise SettingsError("%s must be null or an https:// URL" % name)
    return value


def _bad(name):
    raise SettingsError("%s must be an integer in [1, 1000000]%s" % (
        name, " or null/0 for off" if name in ("rate_limit", "attempt_rate_limit") else ""))


def merge(base, changes):
    """`base` updated with the validated `changes` (a dict); a new dict."""
    if not isinstance(changes, dict):
        raise SettingsError("settings must be an object")
    out = dict(base)
    for k, v in changes.items():
        out[k] = check(k, v)
    return out


def apply_to_store(settings, store):
    """The settings the store enforces (rate limits, lockout)."""
    with store.lock:
        store.rate_limit = settings["rate_limit"]
        store.attempt_rate_limit = settings["attempt_rate_limit"]
        store.attempt_rate_window = settings["attempt_rate_window"]
        store.lockout_threshold = settings["lockout_threshold"] if settings["lockout_enabled"] \
            else 10 ** 9
        store.lockout_seconds = settings["lockout_minutes"] * 60
