"""JSON shapes of FAPI objects (spec frontend-api.yml: Client.SignIn-2, Client.Client-2,
Client.Session-2, Client.User, Stubs.SignInFactor, Stubs.Verification.*)."""
from store import ident_id, identifier_kind

IMAGE_URL = "https://img.clerk.com/emulator-default-avatar"
SUPPORTED_IDENTIFIERS = ["email_address", "username", "phone_number"]


def _mask(ident):
    kind = identifier_kind(ident)
    if kind == "email_address":
        local, _, domain = ident.partition("@")
        return local[:1] + "**" + "@" + domain
    if kind == "phone_number":
        return ident[:2] + "*" * max(0, len(ident) - 4) + ident[-2:]
    return ident


def _email(user, addr):
    t = user.created_at
    return {"id": ident_id(user.id, addr), "object": "email_address", "email_address": addr,
            "reserved": False,
            "verification": {"object": "verification_otp", "status": "verified",
                             "strategy": "email_code", "attempts": 1, "expire_at": t + 600000},
            "linked_to": [], "matches_sso_connection": False, "created_at": t, "updated_at": t}


def _phone(user, number, default_2fa):
    t = user.created_at
    return {"id": ident_id(user.id, number), "object": "phone_number", "phone_number": number,
            "reserved_for_second_factor": False, "default_second_factor": default_2fa,
            "reserved": False,
            "verification": {"object": "verification_otp", "status": "verified",
                             "strategy": "phone_code", "attempts": 1, "expire_at": t + 600000},
            "linked_to": [], "backup_codes": None, "created_at": t, "updated_at": t}


def public_user_data(user):
    return {"first_name": user.first_name, "last_name": user.last_name, "image_url": IMAGE_URL,
            "has_image": False, "identifier": user.identifiers[0], "user_id": user.id,
            "username": user.username}


def org_membership(user):
    org = user.organization
    t = user.created_at
    return {"object": "organization_membership", "id": "orgmem_" + ident_id(user.id, org["id"])[4:],
            "public_metadata": {}, "role": "org:" + org["role"],
            "role_name": org["role"].replace("_", " ").title(), "permissions": [],
            "created_at": t, "updated_at": t,
            "organization": {"object": "organization", "id": org["id"], "name": org["name"],
                             "slug": org["slug"], "image_url": IMAGE_URL, "has_image": False,
                             "members_count": 1, "pending_invitations_count": 0,
                             "max_allowed_memberships": 0, "admin_delete_enabled": True,
                             "public_metadata": {}, "created_at": t, "updated_at": t},
            "public_user_data": public_user_data(user)}


def user_json(user, store, last_sign_in_at=None):
    emails = user.idents_of("email_address")
    phones = user.idents_of("phone_number")
    factors = set(user.second_factors)
    t = user.created_at
    locked_left = store.lockout_remaining(user)
    return {
        "id": user.id, "object": "user", "username": user.username,
        "first_name": user.first_name, "last_name": user.last_name,
        "image_url": IMAGE_URL, "has_image": False,
        "primary_email_address_id": ident_id(user.id, emails[0]) if emails else None,
        "primary_phone_number_id": ident_id(user.id, phones[0]) if phones else None,
        "primary_web3_wallet_id": None,
        "password_enabled": user.password is not None,
        "two_factor_enabled": bool(factors), "totp_enabled": "totp" in factors,
        "backup_code_enabled": "backup_code" in factors,
        "email_addresses": [_email(user, e) for e in emails],
        "phone_numbers": [_phone(user, p, i == 0 and "phone_code" in factors)
                          for i, p in enumerate(phones)],
        "web3_wallets": [], "passkeys": [],
        "organization_memberships": [org_membership(user)] if user.organization else [],
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


def first_factors(user):
    out = []
    if user.password is not None:
        out.append({"strategy": "password"})
    emails = user.idents_of("email_address")
    for i, e in enumerate(emails):
        out.append({"strategy": "email_code", "safe_identifier": _mask(e),
                    "email_address_id": ident_id(user.id, e), "primary": i == 0})
    for i, p in enumerate(user.idents_of("phone_number")):
        out.append({"strategy": "phone_code", "safe_identifier": _mask(p),
                    "phone_number_id": ident_id(user.id, p), "primary": i == 0,
                    "default": False})
    return out


def second_factors(user, status):
    """Factors offered for needs_second_factor / needs_client_trust."""
    emails = user.idents_of("email_address")
    phones = user.idents_of("phone_number")
    out = []
    if status == "needs_client_trust":
        for e in emails[:1]:
            out.append({"strategy": "email_code", "safe_identifier": _mask(e),
                        "email_address_id": ident_id(user.id, e), "primary": True})
        for p in phones[:1]:
            out.append({"strategy": "phone_code", "safe_identifier": _mask(p),
                        "phone_number_id": ident_id(user.id, p), "primary": True,
                        "default": not emails})
        return out
    strategies = user.second_factors or ["totp"]
    for i, strat in enumerate(strategies):
        if strat == "phone_code" and phones:
            out.append({"strategy": "phone_code", "safe_identifier": _mask(phones[0]),
                        "phone_number_id": ident_id(user.id, phones[0]), "primary": True,
                        "default": i == 0})
        elif strat == "email_code" and emails:
            out.append({"strategy": "email_code", "safe_identifier": _mask(emails[0]),
                        "email_address_id": ident_id(user.id, emails[0]), "primary": True,
                        "default": i == 0})
        elif strat in ("totp", "backup_code"):
            out.append({"strategy": strat, "default": i == 0})
    return out


def password_verification(status):
    return {"object": "verification_password", "status": status, "strategy": "password",
            "attempts": None, "expire_at": None}


def sign_in_json(si, store):
    user = store.users.get(si.user_id) if si.user_id else None
    known = si.status in ("needs_first_factor", "needs_second_factor", "needs_client_trust",
                          "needs_new_password", "complete")
    return {
        "object": "sign_in_attempt", "id": si.id, "status": si.status,
        "supported_identifiers": list(SUPPORTED_IDENTIFIERS),
        "supported_first_factors": first_factors(user) if user else [],
        "supported_second_factors": (second_factors(user, si.status)
                                     if user and si.status in ("needs_second_factor",
                                                               "needs_client_trust") else None),
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
                              if s.last_jwt and s.status == "active" else None),
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
