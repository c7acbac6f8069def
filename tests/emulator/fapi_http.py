"""Transport-independent pieces of the FAPI: the Request and Response it takes and gives,
Clerk errors and their envelopes, and small error helpers."""
import json
import urllib.parse

import errors

FORM_TYPE = "application/x-www-form-urlencoded"


class Request:
    def __init__(self, method, target, headers, body, listener, base_url):
        self.method = method
        self.target = target
        parts = urllib.parse.urlsplit(target)
        self.path = parts.path or "/"
        self.query = {}
        self.query_all = {}           # name -> every value, in order (BAPI array params)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            self.query.setdefault(k, v)
            self.query_all.setdefault(k, []).append(v)
        self.headers = headers          # lower-case name -> first value
        self.body = body
        self.listener = listener
        self.base_url = base_url
        self.form = {}
        self.form_ok = True
        ctype = headers.get("content-type", "")
        if body:
            if ctype.split(";")[0].strip().lower() == FORM_TYPE:
                for k, v in urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                                   keep_blank_values=True):
                    self.form.setdefault(k, v)
            else:
                self.form_ok = False


class Response:
    def __init__(self, status, body=b"", content_type="application/json", headers=None):
        self.status = status
        self.body = body
        self.headers = [("Content-Type", content_type)] if content_type else []
        self.headers += list(headers or [])
        self.trace_id = errors.new_trace_id()
        self.headers.append(("X-Clerk-Trace-Id", self.trace_id))
        self.clerk_error = None
        self.sign_in_status = None
        self.jwt_faults = []          # kinds of the jwt faults applied to JWTs in this answer

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def drop_header(self, name):
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]


def _dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode("utf-8")


def json_response(status, obj, token=None, headers=None):
    r = Response(status, _dump(obj), headers=headers)
    if token is not None:
        r.headers.append(("Authorization", token))
    return r


class ClerkError(Exception):
    def __init__(self, code, meta=None, long_message=None, headers=None, top_meta=None,
                 status=None, message=None, trace_id=None):
        super().__init__(code)
        self.code, self.meta, self.long_message = code, meta, long_message
        self.headers, self.top_meta, self.status = headers, top_meta, status
        self.message, self.trace_id = message, trace_id


def error_response(err, token=None):
    r = Response(0, headers=err.headers)
    # a trace id forced by a fault goes in the body only: it may hold bytes no header can
    status, body = errors.error_body(err.code, err.trace_id or r.trace_id, err.meta,
                                     err.long_message, message=err.message,
                                     top_meta=err.top_meta, status=err.status)
    r.status, r.body = status, _dump(body)
    r.clerk_error = err.code
    if token is not None:
        r.headers.append(("Authorization", token))
    return r


def _param_missing(name):
    return ClerkError("form_param_missing", {"param_name": name},
                      "%s must be included." % name.capitalize())


def _org_not_found(wanted):
    """A token or touch for an organization the user is not a member of (catalogue
    OrganizationNotFound: resource_not_found, 404)."""
    return ClerkError("resource_not_found", message="not found", long_message=(
        "Given organization not found: %s" % wanted[:60]))


def _minutes(seconds):
    m = max(1, (seconds + 59) // 60)
    return "%d minute%s" % (m, "" if m == 1 else "s")
