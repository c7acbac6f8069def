"""GET /v1/environment: the instance's settings (spec `Client.Environment`), the public
answer a client reads to learn them (FAPI-NOTES section 11)."""

_ATTRS = ("email_address", "phone_number", "username", "web3_wallet", "first_name",
          "last_name", "password", "authenticator_app", "ticket", "backup_code", "passkey")


def _attribute(name, settings):
    on = name in ("email_address", "phone_number", "username", "password",
                  "authenticator_app", "backup_code") and \
        (name != "password" or settings["password_enabled"])
    first = {"email_address": ["email_code"], "phone_number": ["phone_code"],
             "username": [], "password": []}.get(name, [])
    second = {"phone_number": ["phone_code"], "authenticator_app": ["totp"],
              "backup_code": ["backup_code"]}.get(name, [])
    return {"enabled": on, "required": False,
            "used_for_first_factor": on and name in ("email_address", "phone_number",
                                                     "username", "password"),
            "first_factors": first if on else [],
            "used_for_second_factor": on and bool(second), "second_factors": second if on else [],
            "verifications": first if on else [], "verify_at_sign_up": False,
            "immutable": False}


def environment_json(settings, dev_instance=False):
    s = settings
    first_factors = (["password"] if s["password_enabled"] else []) + ["email_code",
                                                                        "phone_code"]
    auth_config = {
        "object": "auth_config", "id": "aac_emulator", "first_name": "on", "last_name": "on",
        "email_address": "on", "phone_number": "on", "username": "on",
        "password": "required" if s["password_enabled"] else "off",
        "identification_requirements": [["email_address", "phone_number", "username"]],
        "identification_strategies": ["email_address", "phone_number", "username"],
        "first_factors": first_factors,
        "second_factors": ["phone_code", "totp", "backup_code"],
        "email_address_verification_strategies": ["email_code"],
        "single_session_mode": s["single_session"], "enhanced_email_deliverability": False,
        "test_mode": False, "url_based_session_syncing": False, "claimed_at": None,
        "reverification": True,
        "native_settings": {"object": "native_settings", "api_enabled": s["native_api"],
                            "trusted_device_sign_in_enabled": False,
                            "trusted_device_enrollment_prompt_after_sign_in_enabled": False,
                            "trusted_device_enrollment_prompt_after_sign_up_enabled": False},
    }
    enabled = {"enabled": False}
    user_settings = {
        "attributes": {a: _attribute(a, s) for a in _ATTRS},
        "social": {}, "saml": dict(enabled), "enterprise_sso": dict(enabled),
        "sign_in": {"second_factor": {"required": s["require_mfa"]}},
        "sign_up": {"captcha_enabled": False, "captcha_widget_type": "smart",
                    "custom_action_required": False, "progressive": True, "mode": "public",
                    "legal_consent_enabled": False},
        "restrictions": {k: dict(enabled) for k in (
            "allowlist", "blocklist", "allowlist_blocklist_disabled_on_sign_in",
            "block_email_subaddresses", "block_disposable_email_domains")},
        "password_settings": {"disable_hibp": False, "disable_password_reverification": False,
                              "min_length": 8, "max_length": 72, "require_special_char": False,
                              "require_numbers": False, "require_uppercase": False,
                              "require_lowercase": False, "show_zxcvbn": False,
                              "min_zxcvbn_strength": 0, "enforce_hibp_on_sign_in": False,
                              "allowed_special_characters": "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~"},
        "username_settings": {"min_length": 4, "max_length": 64,
                              "allow_extended_special_characters": False,
                              "allow_numeric_usernames": True},
        "actions": {"delete_self": True, "create_organization": True,
                    "create_organizations_limit": None},
        "attack_protection": {
            "user_lockout": {"enabled": s["lockout_enabled"],
                             "max_attempts": s["lockout_threshold"],
                             "duration_in_minutes": s["lockout_minutes"]},
            "pii": dict(enabled), "email_link": {"require_same_client": False},
            "enumeration_protection": {"enabled": s["enumeration_protection"]}},
        "passkey_settings": {"allow_autofill": False, "show_sign_in_button": False,
                             "satisfies_second_factor": False},
    }
    return {"auth_config": auth_config, "user_settings": user_settings,
            "client_debug_mode": False, "maintenance_mode": False,
            "partitioned_cookies": False}
