"""JSON shapes of FAPI objects (spec frontend-api.yml: Client.SignIn-2, Client.Client-2,
Client.Session-2, Client.User, Stubs.SignInFactor, Stubs.Verification.*)."""
from store import ident_id, identifier_kind
from tokens import org_permissions

IMAGE_URL = "https://img.clerk.com/emulator-default-avatar"
SUPPORTED_IDENTIFIERS = ["email_address", "username", "phone_number"]


def _mask(ident):
    """safe_identifier: `j***@way.cloud`, `+1*******0101`."""
    kind = identifier_kind(ident)
    if kind == "email_address":
        local, _, domain = ident.partition("@")
        return local[:1] + "***@" + domain
    if kind == "phone_number":
        return ident[:2] + "*******" + ident[-4:]
    return ident


def _email(user, eid, addr):
    t = user.created_at
    return {"id": eid, "object": "email_address", "email_address": addr,
            "reserved": False,
            "verification": {"object": "verification_otp", "status": "verified",
                             "strategy": "email_code", "attempts": 1, "expire_at": t + 600000},
            "linked_to": [], "matches_sso_connection": False, "created_at": t, "updated_at": t}


def _phone(user, pid, number, default_2fa):
    t = user.created_at
    return {"id": pid, "object": "phone_number", "phone_number": number,
            "reserved_for_second_factor": False, "default_second_factor": default_2fa,
            "reserved": False,
            "verification": {"object": "verification_otp", "status": "verified",
                             "strategy": "phone_code", "attempts": 1, "expire_at": t + 600000},
            "linked_to": [], "backup_codes": None, "created_at": t, "updated_at": t}


def public_user_data(user):
    return {"first_name": user.first_name, "last_name": user.last_name, "image_url": IMAGE_URL,
            "has_image": False, "identifier": user.identifiers[0], "user_id": user.id,
            "username": user.username}


def organization_json(org, store, bapi=False):
    info = store.org_info(org["id"]) if store is not None else None
    t = 1735689600000
    out = {"object": "organization", "id": org["id"], "name": org["name"],
           "slug": org["slug"], "image_url": IMAGE_URL, "has_image": False,
           "members_count": info["members_count"] if info else 1,
           "pending_invitations_count": 0, "max_allowed_memberships": 0,
           "admin_delete_enabled": True, "public_metadata": {}, "created_at": t,
           "updated_at": t}
    if bapi:
        out["private_metadata"] = {}
    return out


def org_membership(user, org=None, store=None, bapi=False):
    """OrganizationMembership of `user` in `org` (default: the first); role `org:<role>`."""
    org = org or user.organization
    t = user.created_at
    pud = public_user_data(user)
    if bapi:
        pud = {"user_id": user.id, "first_name": user.first_name, "last_name": user.last_name,
               "profile_image_url": IMAGE_URL, "image_url": IMAGE_URL, "has_image": False,
               "identifier": user.identifiers[0], "username": user.username,
               "banned": user.state == "banned", "deprovisioned": False}
    out = {"object": "organization_membership",
           "id": "orgmem_" + ident_id(user.id, org["id"])[4:],
           "public_metadata": {}, "role": "org:" + org["role"],
           "role_name": org["role"].replace("_", " ").title(),
           "permissions": list(org_permissions(org["role"])),
           "created_at": t, "updated_at": t,
           "organization": organization_json(org, store, bapi),
           "public_user_data": pud}
    if bapi:
        out["private_metadata"] = {}
    return out


def user_json(user, store, last_sign_in_at=None):
    emails, phones = user.emails, user.phones
    factors = set(user.mfa_strategies)
    t = user.created_at
    locked_left = store.lockout_remaining(user)
    return {
        "id": user.id, "object": "user", "username": user.username,
        "first_name": user.first_name, "last_name": user.last_name,
        "image_url": IMAGE_URL, "has_image": False,
        "primary_email_address_id": emails[0][0] if emails else None,
        "primary_phone_number_id": phones[0][0] if phones else None,
        "primary_web3_wallet_id": None,
        "password_enabled": user.password is not None,
        "two_factor_enabled": bool(factors), "totp_enabled": "totp" in factors,
        "backup_code_enabled": "backup_code" in factors,
        "email_addresses": [_email(user, eid, e) for eid, e in emails],
        "phone_numbers": [_phone(user, pid, p, i == 0 and user.default_second_factor == "phone_code")
                          for i, (pid, p) in enumerate(phones)],
        "web3_wallets": [], "passkeys": [],
        "organization_memberships": [org_membership(user, o, store)
                                     for o in user.organizations],
        "external_accounts": [], "saml_accounts": [], "enterprise_accounts": [],
        "password_last_updated_at": t if user.password is not None else None,
        "public_metadata": {}, "unsafe_metadata": {}, "external_id": None,
        "last_sign_in_at": last_sign_in_at,
        "banned": user.state == "banned", "locked": user.state == "locked" or locked_left > 0,
        "lockout_expires_in_seconds": locked_left or None,
        "verification_attempts_remaining": max(0, store.lockout_threshold - store.failures.get(user.id, 0)),
        "created_at": t, "updated_at": t, "delete_self_enabled": True,
        "create_organization_enabled": True, "last_active_at": last_sign_in_at,
        "mfa_enabled_at": t if factors else None, "mfa_disabled_at": None,
        "legal_accepted_at": None,
    }


def bapi_user_json(user, store):
    """The Backend API User (schema User): the FAPI user's fields less the FAPI-only ones,
    plus private_metadata, deprovisioned, locale and the like. banned/locked follow the
    user's state and lockout, like the FAPI sign-in rules."""
    u = user_json(user, store, store.last_sign_in.get(user.id))
    u.pop("organization_memberships", None)
    u.update(private_metadata={}, profile_image_url=IMAGE_URL, locale=None,
             deprovisioned=False, bypass_client_trust=False, create_organizations_limit=None)
    return u


def first_factors(user):
    out = []
    if user.password is not None:
        out.append({"strategy": "password"})
    for i, (eid, e) in enumerate(user.emails):
        out.append({"strategy": "email_code", "safe_identifier": _mask(e),
                    "email_address_id": eid, "primary": i == 0})
    for i, (pid, p) in enumerate(user.phones):
        out.append({"strategy": "phone_code", "safe_identifier": _mask(p),
                    "phone_number_id": pid, "primary": i == 0, "default": False})
    return out


def _code_entry(strategy, aid, addr, primary, default):
    key = "phone_number_id" if strategy == "phone_code" else "email_address_id"
    return {"strategy": strategy, "safe_identifier": _mask(addr), key: aid,
            "primary": primary, "default": default}


def mfa_factors(user):
    """supported_second_factors of a user with MFA, in the user's order; the entry of
    `default_second_factor` (its first address) has default true."""
    out = []
    default = user.default_second_factor or (user.mfa_strategies or [None])[0]
    for strat in user.mfa_strategies:
        if strat in ("totp", "backup_code"):
            out.append({"strategy": strat, "default": strat == default})
            continue
        addrs = user.emails if strat == "email_code" else user.phones
        for i, (aid, addr) in enumerate(addrs):
            out.append(_code_entry(strat, aid, addr, i == 0, strat == default and i == 0))
    return out


def trust_factors(user, email_link=False):
    """supported_second_factors of a Device Trust check: an email_code entry per email
    address (each followed by an email_link entry with `email_link`, as real Clerk offers),
    then a phone_code entry per phone number; the first one is the default."""
    out = []
    for i, (aid, a) in enumerate(user.emails):
        out.append(_code_entry("email_code", aid, a, i == 0, False))
        if email_link:
            out.append(_code_entry("email_link", aid, a, i == 0, False))
    out += [_code_entry("phone_code", aid, a, i == 0, False)
            for i, (aid, a) in enumerate(user.phones)]
    if out:
        out[0]["default"] = True
    return out


def second_factors(user, status):
    """Factors offered for needs_second_factor / needs_client_trust when the sign-in did not
    record its own (a sign-in forced by the sign_in_status fault)."""
    return trust_factors(user) if status == "needs_client_trust" else mfa_factors(user)


def password_verification(status):
    return {"object": "verification_password", "status": status, "strategy": "password",
            "attempts": None, "expire_at": None}


def otp_verification(strategy, status, attempts, expire_at):
    """An emailed/SMS code's verification, or an email link's (spec Stubs.Verification.Link)."""
    if strategy == "email_link":
        return {"object": "verification_email_link", "status": status, "strategy": strategy,
                "attempts": attempts, "expire_at": expire_at}
    return {"object": "verification_otp", "status": status, "strategy": strategy,
            "attempts": attempts, "expire_at": expire_at}


def code_verification(strategy, status, attempts):
    """totp / backup_code verification (no expiry)."""
    obj = "verification_totp" if strategy == "totp" else "verification_backup_code"
    return {"object": obj, "status": status, "strategy": strategy, "attempts": attempts,
            "expire_at": None}


def sign_in_json(si, store):
    user = store.users.get(si.user_id) if si.user_id else None
    known = si.status in ("needs_first_factor", "needs_second_factor", "needs_client_trust",
                          "needs_new_password", "complete")
    return {
        "object": "sign_in_attempt", "id": si.id, "status": si.status,
        "supported_identifiers": list(SUPPORTED_IDENTIFIERS),
        "supported_first_factors": first_factors(user) if user else [],
        "supported_second_factors": (
            (list(si.factors) if si.factors is not None else second_factors(user, si.status))
            if user and si.status in ("needs_second_factor", "needs_client_trust") else None),
        "first_factor_verification": si.first_factor,
        "second_factor_verification": si.second_factor,
        "identifier": si.identifier,
        "user_data": ({"first_name": user.first_name, "last_name": user.last_name,
                       "image_url": IMAGE_URL, "has_image": False} if user else None),
        "created_session_id": si.created_session_id,
        "abandon_at": si.abandon_at,
        "client_trust_state": si.client_trust_state if known else None,
    }


def session_json(s, store):
    user = store.users.get(s.user_id)
    return {
        "object": "session", "id": s.id, "status": s.status,
        "expire_at": s.expire_at, "abandon_at": s.abandon_at, "last_active_at": s.last_active_at,
        "last_active_token": ({"object": "token", "jwt": s.last_jwt}
                              if s.last_jwt and s.status in ("active", "pending") else None),
        "actor": None, "tasks": s.tasks,
        "last_active_organization_id": s.active_org["id"] if s.active_org else None,
        "user": user_json(user, store, s.created_at) if user else None,
        "public_user_data": public_user_data(user) if user else None,
        "factor_verification_age": list(s.factor_verification_age),
        "created_at": s.created_at, "updated_at": s.updated_at,
    }


def client_json(c, store):
    return {
        "object": "client", "id": c.id,
        "sessions": [session_json(s, store) for s in c.sessions.values()
                     if s.status in ("active", "pending")],
        "sign_in": sign_in_json(c.sign_in, store) if c.sign_in else None,
        "sign_up": None,
        "last_active_session_id": c.last_active_session_id,
        "last_authentication_strategy": c.last_authentication_strategy,
        "cookie_expires_at": c.created_at + 365 * 86400 * 1000,
        "captcha_bypass": False,
        "created_at": c.created_at, "updated_at": c.updated_at,
    }
