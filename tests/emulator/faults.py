"""Queued faults: what they are called, their parameters, and which request takes them."""
import threading

MAX_HANG = 300.0

# name -> {param: default}; a default of REQUIRED must be given
REQUIRED = object()
SPECS = {
    "delay": {"seconds": 1.0},
    "hang": {"timeout": MAX_HANG},
    "hang_tls": {"timeout": MAX_HANG},
    "hang_after_headers": {"timeout": MAX_HANG},
    "drip": {"interval": 0.5},
    "reset": {},
    "reset_mid_body": {},
    "status": {"http_status": 500, "body": None},
    "rate_limit": {"retry_after": None},
    "truncated_json": {},
    "malformed_json": {},
    "wrong_types": {},
    "oversized": {"bytes": 8 * 1024 * 1024},
    "redirect": {"location": None, "status": 302},
    "unexpected_status": {"http_status": 418},
    "error_code": {"code": REQUIRED, "http_status": None, "meta": None, "message": None,
                   "long_message": None, "trace_id": None},
    "sign_in_status": {"status": REQUIRED},
    "no_client_token": {},
    "client_token": {"value": REQUIRED},
    "empty_body_200": {},
    "jwt": {"kind": REQUIRED},
    "wire": {"kind": REQUIRED},
}
JWT_KINDS = ("bad_signature", "wrong_iss", "expired", "not_yet_valid", "alg_none", "hs256",
             "unknown_kid", "wrong_sid", "wrong_sub", "rs512", "no_exp", "sts_pending")
# framings of the `wire` fault: valid HTTP a client must read, then broken HTTP it must refuse
WIRE_KINDS = ("chunked", "close_delimited", "continue_first", "tiny_writes", "header_variants",
              "garbage_after_answer",
              "duplicate_content_length", "content_length_and_chunked", "bad_chunk_size",
              "huge_chunk_size", "truncated_chunked", "short_content_length_close",
              "bad_status_line", "bad_protocol_name", "http09", "nul_in_header",
              "bare_lf_in_header_value", "cr_in_header_value", "obs_fold",
              "switching_protocols", "headers_too_big", "body_too_big_chunked")
APIS = ("fapi", "bapi", "any")
# faults that replace the answer without running the FAPI logic (no state change)
SHORT_CIRCUIT = {"hang", "reset", "status", "rate_limit", "redirect", "unexpected_status",
                 "error_code"}
SIGN_IN_PREFIX = "/v1/client/sign_ins"


class FaultError(ValueError):
    pass


class Fault:
    __slots__ = ("name", "count", "path", "params", "api", "skip")

    def __init__(self, name, count, path, params, api="fapi", skip=0):
        self.name, self.count, self.path, self.params = name, count, path, params
        self.api = api
        self.skip = skip          # matching requests let through before it applies

    def as_dict(self):
        return dict(self.params, fault=self.name, count=self.count, path=self.path,
                    api=self.api, skip=self.skip)


def parse(body):
    """Validate a control-API fault body; return a Fault or raise FaultError."""
    if not isinstance(body, dict):
        raise FaultError("body must be a JSON object")
    name = body.get("fault")
    if name not in SPECS:
        raise FaultError("unknown fault %r; known: %s" % (name, ", ".join(sorted(SPECS))))
    count = body.get("count")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise FaultError("count must be a positive integer or null")
    path = body.get("path")
    if path is not None and (not isinstance(path, str) or not path.startswith("/")):
        raise FaultError("path must be null or a path prefix starting with /")
    skip = body.get("skip") or 0
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise FaultError("skip must be a non-negative integer (requests let through first)")
    api = body.get("api") or "fapi"
    if api not in APIS:
        raise FaultError("api must be one of %s" % ", ".join(APIS))
    if name == "jwt" and api != "fapi":
        raise FaultError("jwt faults apply to the JWTs FAPI hands out: api must be fapi")
    spec = SPECS[name]
    unknown = set(body) - set(spec) - {"fault", "count", "path", "api", "skip"}
    if unknown:
        raise FaultError("unknown parameter(s) for %s: %s" % (name, ", ".join(sorted(unknown))))
    params = {}
    for key, default in spec.items():
        value = body.get(key, None if default is REQUIRED else default)
        if value is None and default is REQUIRED:
            raise FaultError("%s needs parameter %r" % (name, key))
        if value is None and default is not None:
            value = default
        params[key] = value
    for key in ("seconds", "timeout", "interval", "retry_after"):
        if key in params and params[key] is not None:
            if not isinstance(params[key], (int, float)) or isinstance(params[key], bool) \
                    or params[key] < 0:
                raise FaultError("%s must be a non-negative number" % key)
    for key in ("timeout", "seconds", "interval"):
        if key in params:              # nothing may stall a test run for longer than this
            params[key] = min(float(params[key]), MAX_HANG)
    for key in ("http_status", "status", "bytes"):
        if key in params and params[key] is not None and name != "sign_in_status":
            if not isinstance(params[key], int) or isinstance(params[key], bool):
                raise FaultError("%s must be an integer" % key)
    if name == "jwt" and params["kind"] not in JWT_KINDS:
        raise FaultError("kind must be one of %s" % ", ".join(JWT_KINDS))
    if name == "wire" and params["kind"] not in WIRE_KINDS:
        raise FaultError("kind must be one of %s" % ", ".join(WIRE_KINDS))
    if name == "sign_in_status" and not isinstance(params["status"], str):
        raise FaultError("status must be a string")
    if name == "client_token" and not (isinstance(params["value"], str) and
                                       params["value"].isprintable() and
                                       len(params["value"]) <= 4096):
        raise FaultError("value must be a printable string (\"\" or \"Bearer\" clear the client)")
    if name == "error_code":
        for key in ("code", "message", "long_message", "trace_id"):
            if params[key] is not None and not isinstance(params[key], str):
                raise FaultError("%s must be a string" % key)
        if params["meta"] is not None and not isinstance(params["meta"], dict):
            raise FaultError("meta must be an object")
    return Fault(name, count, path, params, api, skip)


class FaultQueue:
    def __init__(self):
        self._lock = threading.Lock()
        self._faults = []

    def add(self, fault):
        with self._lock:
            self._faults.append(fault)

    def clear(self):
        with self._lock:
            self._faults.clear()

    def list(self):
        with self._lock:
            return [f.as_dict() for f in self._faults]

    def _matches(self, f, stage, method, path, api):
        if f.api != "any" and f.api != api:
            return False
        if stage == "connect":
            return f.name == "hang_tls"
        if (stage == "jwt") != (f.name == "jwt") or f.name == "hang_tls":
            return False
        if f.path is not None and not path.startswith(f.path):
            return False
        if f.name == "sign_in_status":
            return method == "POST" and path.startswith(SIGN_IN_PREFIX)
        return True

    def take(self, stage, method=None, path=None, api="fapi"):
        """First queued fault matching this connection ("connect"), request ("request") or
        JWT being handed out ("jwt", path = the request's); consumes one use of it.
        `api` is the listener's ("fapi" or "bapi"). Returns a Fault copy or None."""
        with self._lock:
            for i, f in enumerate(self._faults):
                if self._matches(f, stage, method, path, api):
                    if f.skip > 0 and stage == "request":
                        f.skip -= 1     # e.g. a fault in the middle of paging
                        return None
                    if f.count is not None:
                        f.count -= 1
                        if f.count <= 0:
                            del self._faults[i]
                    return Fault(f.name, f.count, f.path, dict(f.params), f.api)
        return None
