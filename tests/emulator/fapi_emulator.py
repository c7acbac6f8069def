#!/usr/bin/python3
"""Clerk Frontend API (FAPI) emulator for pam_clerk's tests.

    /usr/bin/python3 tests/emulator/fapi_emulator.py --state-dir DIR [--users FILE]
        [--dev-instance] [--lockout-threshold N] [--rate-limit N]
        [--device-trust | --device-trust-legacy] [--attempt-rate-limit N]
        [--attempt-rate-window S] [--code-ttl S] [--jwt-claims v1|v2]
        [--clock-offset SECONDS] [--secret-key KEY] [--profile real|kind]
        [--enumeration-protection] [--bearer-tokens] [--native-api-disabled]
        [--device-attestation] [--require-mfa] [--force-organization] [--multi-session]
        [--proxy-path /PATH] [--issuer URL] [--set KEY=JSON ...]

Writes DIR/ready.json when listening; see README.md in this folder.
"""
import argparse
import json
import math
import os
import signal
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bapi  # noqa: E402
import certs  # noqa: E402
import control_api  # noqa: E402
import faults  # noqa: E402
import fapi  # noqa: E402
import instance  # noqa: E402
import reqlog  # noqa: E402
import server  # noqa: E402
import store  # noqa: E402
import tokens  # noqa: E402


def positive_int(text):
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return n


def positive_float(text):
    n = float(text)
    if not n > 0 or n > 86400:
        raise argparse.ArgumentTypeError("must be > 0 and <= 86400")
    return n


def clock_offset(text):
    n = float(text)
    if not math.isfinite(n) or abs(n) > 10 * 365 * 86400:
        raise argparse.ArgumentTypeError("must be a number of seconds within +-10 years")
    return n


def secret_key(text):
    if not text or any(c.isspace() for c in text) or not text.isprintable():
        raise argparse.ArgumentTypeError("must be printable, without spaces")
    return text


def parse_args(argv):
    p = argparse.ArgumentParser(description="Clerk FAPI emulator (HTTPS on 127.0.0.1)")
    p.add_argument("--state-dir", required=True, help="where certs, keys, ready.json and "
                   "requests.jsonl go")
    p.add_argument("--users", default=os.path.join(HERE, "users.json"),
                   help="users fixture (JSON list); default tests/emulator/users.json")
    p.add_argument("--dev-instance", action="store_true",
                   help="require a dev-browser token (__clerk_db_jwt) on /v1 requests")
    p.add_argument("--profile", choices=instance.PROFILES, default="real",
                   help="the world the settings start from: real (default; real Clerk's "
                   "defaults) or kind (the emulator's older, kinder world)")
    p.add_argument("--lockout-threshold", type=positive_int, default=None,
                   help="failed attempts before user_locked (default 10)")
    p.add_argument("--rate-limit", type=int, default=None,
                   help="max sign-in creations per 10 s (real: 5; kind: unlimited; 0 = off)")
    p.add_argument("--device-trust", action="store_true",
                   help="Device Trust: a correct password without MFA from a client that is not "
                   "trusted answers needs_client_trust")
    p.add_argument("--device-trust-legacy", action="store_true",
                   help="Device Trust for apps without the 'Device Trust Status' update: the same "
                   "check answers needs_second_factor (client_trust_state new)")
    p.add_argument("--attempt-rate-limit", type=int, default=None,
                   help="max attempt_first_factor/attempt_second_factor calls per window "
                   "(real: 3; kind: unlimited; 0 = off)")
    p.add_argument("--attempt-rate-window", type=positive_float, default=None,
                   help="seconds of the attempt rate-limit window (default 10)")
    p.add_argument("--code-ttl", type=positive_float, default=600.0,
                   help="seconds an emailed/SMS code stays valid (default 600)")
    p.add_argument("--jwt-claims", choices=("v1", "v2"), default="v2",
                   help="session token claims version: v2 (default; `o` {id, slg, rol}) or "
                   "v1 (org_id, org_slug, org_role `org:<role>`)")
    p.add_argument("--clock-offset", type=clock_offset, default=0.0,
                   help="seconds added to the clock for JWT times (iat, nbf, exp); negative = "
                   "in the past (default 0)")
    p.add_argument("--secret-key", type=secret_key, default=bapi.DEFAULT_SECRET_KEY,
                   help="the Backend API secret key (default %s)" % bapi.DEFAULT_SECRET_KEY)
    for flag, key, value, text in SWITCHES:
        p.add_argument(flag, dest="sw_" + key.replace("-", "_"), action="store_const",
                       const=value, default=None, help=text)
    p.add_argument("--proxy-path", default=None,
                   help="also serve FAPI under this path prefix, as a Clerk proxy does "
                   "(e.g. /__clerk)")
    p.add_argument("--issuer", default=None,
                   help="`iss` of every JWT (default: the main URL), e.g. the real FAPI host "
                   "behind a proxy")
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=JSON",
                   help="any instance setting (see README), e.g. --set single_session=false")
    p.add_argument("--exit-with-parent", action="store_true",
                   help="stop when the parent process goes away (used by control.Emulator)")
    return p.parse_args(argv)


SWITCHES = (
    ("--enumeration-protection", "enumeration_protection", True,
     "a wrong password and an unknown identifier both give form_password_or_identifier_incorrect"),
    ("--bearer-tokens", "bearer_tokens", True, "answers carry `Authorization: Bearer <token>`"),
    ("--native-api-disabled", "native_api", False,
     "the Native API is off: native requests get 400 native_api_disabled"),
    ("--device-attestation", "device_attestation", True,
     "sign-in creation gets 401 requires_device_attestation"),
    ("--require-mfa", "require_mfa", True,
     "sessions of users without MFA are pending with a setup-mfa task"),
    ("--force-organization", "force_organization", True,
     "sessions without an active organization are pending with a choose-organization task"),
    ("--multi-session", "single_session", False,
     "multi-session mode: identifier_already_signed_in instead of session_exists"),
)


def start_settings(args):
    """The profile's settings with the command line's changes."""
    changes = {}
    if args.rate_limit is not None:
        changes["rate_limit"] = args.rate_limit or None
    if args.attempt_rate_limit is not None:
        changes["attempt_rate_limit"] = args.attempt_rate_limit or None
    if args.attempt_rate_window is not None:
        changes["attempt_rate_window"] = args.attempt_rate_window
    if args.lockout_threshold is not None:
        changes["lockout_threshold"] = args.lockout_threshold
    for _, key, _, _ in SWITCHES:
        value = getattr(args, "sw_" + key)
        if value is not None:
            changes[key] = value
    if args.proxy_path is not None:
        changes["proxy_path"] = args.proxy_path
    if args.issuer is not None:
        changes["issuer"] = args.issuer
    for item in args.settings:
        key, sep, value = item.partition("=")
        try:
            changes[key] = json.loads(value) if sep else True
        except ValueError:
            changes[key] = value            # a bare string
    return instance.merge(instance.defaults(args.profile), changes)


def write_ready(path, info):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(info, f)
        f.write("\n")
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    try:
        settings = start_settings(args)
    except instance.SettingsError as e:
        sys.stderr.write("fapi_emulator: %s\n" % e)
        return 2
    state_dir = os.path.abspath(args.state_dir)
    os.makedirs(state_dir, exist_ok=True)
    ready_path = os.path.join(state_dir, "ready.json")
    for stale in (ready_path, ready_path + ".tmp"):
        if os.path.exists(stale):
            os.unlink(stale)

    stop = threading.Event()
    parent = os.getppid()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    pki = certs.generate(state_dir)
    key = tokens.Keyring(state_dir)
    st = store.Store(os.path.abspath(args.users) if args.users else None,
                     code_ttl=args.code_ttl)
    fq = faults.FaultQueue()
    log = reqlog.RequestLog(os.path.join(state_dir, "requests.jsonl"))
    device_trust = "legacy" if args.device_trust_legacy else ("on" if args.device_trust else None)
    app = fapi.Fapi(st, key, dev_instance=args.dev_instance, device_trust=device_trust,
                    faults=fq, jwt_claims=args.jwt_claims, clock_offset=args.clock_offset,
                    settings=settings)
    backend = bapi.Bapi(st, key, secret_key=args.secret_key, dev_instance=args.dev_instance)
    emu = server.Emulator(app, control_api.ControlApi(st, fq, log, app=app, keyring=key,
                                                      bapi=backend), fq,
                          log, stop, bapi=backend)

    main_ctx = server.tls_context(*pki["server"])
    listeners = [
        server.Listener("main", main_ctx, emu, control_allowed=True),
        server.Listener("wrong_host", server.tls_context(*pki["wrong_host"]), emu,
                        control_allowed=False),
        server.Listener("self_signed", server.tls_context(*pki["self_signed"]), emu,
                        control_allowed=False),
        server.Listener("control", main_ctx, emu, control_allowed=True, fapi_allowed=False),
        server.Listener("bapi", main_ctx, emu, control_allowed=False, api="bapi"),
    ]
    main_l, wrong_l, self_l, ctl_l, bapi_l = listeners
    app.issuer = main_l.base_url
    threads = [threading.Thread(target=l.serve_forever, kwargs={"poll_interval": 0.2},
                                name="listener-" + l.name, daemon=True) for l in listeners]
    for t in threads:
        t.start()
    info = {"url": main_l.base_url, "ca_file": pki["ca"], "wrong_host_url": wrong_l.base_url,
            "self_signed_url": self_l.base_url, "pid": os.getpid(),
            "control_url": ctl_l.base_url, "jwks_url": main_l.base_url + "/.well-known/jwks.json",
            "jwt_public_key": os.path.join(state_dir, "jwt_public_key.pem"),
            "requests_log": os.path.join(state_dir, "requests.jsonl"),
            "dev_instance": args.dev_instance, "device_trust": device_trust,
            "attempt_rate_limit": settings["attempt_rate_limit"],
            "profile": args.profile, "settings": settings,
            "bapi_url": bapi_l.base_url, "secret_key": args.secret_key,
            "jwt_claims": args.jwt_claims, "clock_offset": args.clock_offset,
            "jwt_public_key_pem": key.info()["jwt_public_key_pem"],
            "jwt_public_key_line": key.info()["jwt_public_key_line"],
            "jwt_kid": key.kid}
    write_ready(ready_path, info)
    sys.stderr.write("fapi emulator listening on %s (pid %d)\n" % (main_l.base_url, os.getpid()))
    sys.stderr.flush()

    while not stop.wait(0.25):
        if args.exit_with_parent and os.getppid() != parent:
            break
    stop.set()
    stoppers = [threading.Thread(target=l.shutdown) for l in listeners]
    for t in stoppers:
        t.start()
    for t in stoppers:
        t.join(5)
    for l in listeners:
        l.server_close()
    try:
        os.unlink(ready_path)
    except OSError:
        pass
    sys.stderr.write("fapi emulator stopped\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
