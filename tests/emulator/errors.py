"""Built-in table of the Clerk FAPI error codes the emulator answers with.

Each entry names the catalogue entry (api_errors.json "name") it was taken from, so the
test can check code and HTTP status against the catalogue. Messages are Clerk's; where the
catalogue leaves them empty, the text is the one Clerk's FAPI sends.
"""
import json
import secrets
from pathlib import Path

# code -> (catalogue name, http status, message, long_message)
TABLE = {
    "form_password_incorrect": ("FormPasswordIncorrect", 422,
        "Password is incorrect. Try again, or use another method.",
        "Password is incorrect. Try again, or use another method."),
    "form_identifier_not_found": ("FormIdentifierNotFound", 422,
        "Couldn't find your account.", "Couldn't find your account."),
    "strategy_for_user_invalid": ("InvalidStrategyForUser", 400,
        "Invalid verification strategy",
        "The verification strategy is not valid for this account"),
    "form_param_missing": ("FormMissingParameter", 422,
        "is missing", "<param> must be included."),
    "form_param_value_invalid": ("FormInvalidParameterValue", 422,
        "is invalid", "<value> does not match one of the allowed values for parameter <param>"),
    "user_locked": ("UserLocked", 403, "Account locked",
        "Your account is locked. You will be able to try again in <timeRemaining>. "
        "For more information, please contact support."),
    "user_banned": ("UserBanned", 403, "User banned",
        "You have been banned. If you think this was by mistake, please contact support."),
    "user_deactivated": ("UserDeactivated", 403, "User deactivated",
        "You have been deactivated. Please contact support."),
    "too_many_requests": ("TooManyRequests", 429, "Too many requests",
        "Too many requests, retry later"),
    "form_password_pwned": ("FormPwnedPassword", 422,
        "Password has been found in an online data breach. For account safety, please reset your password.",
        "Password has been found in an online data breach. For account safety, please reset your password."),
    "request_header_missing": ("MissingRequestHeadersForNonStandardBrowsers", 400,
        "Invalid request headers",
        "Your Clerk Frontend API is accessible from browsers and native applications. To protect "
        "against common web attacks, we require the HTTP Authorization header to be present in native "
        "application requests. Make sure the HTTP Authorization header is set a valid Clerk client JWT "
        "or set it to an empty string for your first Frontend API request that will return your Clerk "
        "client JWT."),
    "origin_authorization_headers_conflict": ("OriginAndAuthorizationMutuallyExclusive", 400,
        "Setting both the 'Origin' and 'Authorization' headers is forbidden",
        "For security purposes, only one of the 'Origin' and 'Authorization' headers should be "
        "provided, but not both. In browser contexts, the 'Origin' header is set automatically by the "
        "browser. In native application contexts (e.g. mobile apps), set the 'Authorization' header."),
    "origin_invalid": ("InvalidOriginHeader", 400, "Invalid HTTP Origin header",
        "The Request HTTP Origin header must be equal to or a subdomain of the requesting URL."),
    "authentication_invalid": ("InvalidAuthentication", 401, "Invalid authentication",
        "Unable to authenticate the request, you need to supply an active session"),
    "api_version_invalid": ("InvalidAPIVersion", 400, "invalid API version",
        "Invalid Clerk API version: <reason>"),
    "dev_browser_unauthenticated": ("DevBrowserUnauthenticated", 401, "Browser unauthenticated",
        "Unable to authenticate this browser for your development instance. Check your Clerk cookies "
        "and try again. If the issue persists reach out to support@clerk.com."),
    "identifier_already_signed_in": ("AlreadySignedIn", 400, "You're already signed in",
        "You're already signed in"),
    "resource_not_found": ("ResourceNotFound", 404, "not found", "Resource not found"),
    "invalid_action_for_session": ("InvalidActionForSession", 400,
        "Invalid action for user session", "Unable to <action> session <sessionID>"),
    "signed_out": ("SignedOut", 401, "Signed out", "You are signed out"),
    # Backend API (BAPI listener)
    "clerk_key_invalid": ("InvalidClerkSecretKey", 401,
        "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct.",
        "The provided Clerk Secret Key is invalid. Make sure that your Clerk Secret Key is correct."),
    "unsupported_content_type": ("UnsupportedContentType", 415, "Content-Type is unsupported",
        "Content-Type <actual> is unsupported. You should use <expected> instead."),
    "request_body_too_large": ("RequestBodyTooLarge", 413, "Request body too large",
        "The request body exceeds the maximum allowed size of <max> bytes."),
    "verification_strategy_invalid": ("VerificationInvalidStrategy", 400, "has invalid strategy",
        "The strategy is not valid for the current verification."),
    "internal_clerk_error": ("Unexpected", 500, "Oops, an unexpected error occurred",
        "There was an internal error on our servers. We've been notified and are working on fixing it."),
    # not produced by the emulator's own rules, but answered by the error_code fault even
    # without ../shared (codes a FAPI client must tell apart, FAPI-NOTES section 6)
    "native_api_disabled": ("NativeAPIDisabled", 400, "Native API disabled",
        "The Native API is disabled for this instance. Visit the Clerk Dashboard to enable it."),
    "host_invalid": ("InvalidHost", 400, "Invalid host",
        "We were unable to attribute this request to an instance running on Clerk. Make sure "
        "that your Clerk Publishable Key is correct."),
    "session_exists": ("SingleModeSessionExists", 400, "Session already exists",
        "You're already signed in."),
    "form_password_compromised": ("FormPasswordCompromised", 422,
        "Your password may be compromised.",
        "Your password may be compromised. To protect your account, please continue with an "
        "alternative sign-in method. You will be required to reset your password after signing in."),
    "account_lockout_warning": ("AccountLockoutWarning", 422, "Account lockout warning",
        "You have <attempts> attempts left before your account is locked."),
    "requires_captcha": ("CaptchaVerificationRequired", 401, "CAPTCHA verification is required",
        "CAPTCHA verification is required"),
    "captcha_invalid": ("CaptchaInvalid", 400,
        "Authentication unsuccessful due to failed security validations.",
        "Authentication unsuccessful due to failed security validations. Please try using a "
        "different browser or disabling browser extensions."),
    "requires_protect_check": ("ProtectCheckRequired", 403, "Protect check required",
        "A Protect check is required before this action can continue."),
    "action_blocked": ("FraudActionBlocked", 403, "Action blocked",
        "This action was detected as suspicious and has been blocked. If you believe this was a "
        "mistake, please contact support."),
    "authorization_header_format_invalid": ("InvalidAuthorizationHeaderFormat", 401,
        "Invalid Authorization header format",
        "Invalid Authorization header format. Must be 'Bearer <YOUR_API_KEY>'"),
    "origin_missing": ("OriginHeaderMissing", 400, "Origin header missing",
        "This request requires an Origin header to be set, but it is missing"),
    "client_not_found": ("ClientNotFoundInRequest", 400, "No client found",
        "This request is expecting a client and did not find one"),
    "action_for_session_not_authorized": ("UnauthorizedActionForSession", 401,
        "Unauthorized action for session",
        "Not authorized to perform requested action on session <sessionID>"),
    "resource_locked": ("ResourceBusy", 409, "resource busy",
        "This resource is currently being modified by another request. Please try again."),
    "form_code_incorrect": ("FormIncorrectCode", 422, "is incorrect", "Incorrect code"),
    "verification_failed": ("VerificationFailed", 400, "failed",
        "Too many failed attempts. You have to try again with the same or another method."),
    "verification_expired": ("VerificationExpired", 400, "expired",
        "This verification has expired. You must create a new one."),
    "verification_missing": ("VerificationMissing", 400, "is missing",
        "This strategy requires verification preparation before attempting to validate it."),
    "verification_already_verified": ("VerificationAlreadyVerified", 400, "already verified",
        "This verification has already been verified."),
    "no_second_factors": ("NoSecondFactorsForStrategy", 400, "no second factors",
        "No second factors were found for strategy <strategy>."),
    "sign_in_identification_or_user_deleted": ("SignInIdentificationOrUserDeleted", 400,
        "identification or user deleted",
        "Either the user or the selected identification were deleted. Please start over."),
    "verification_code_too_many_requests": ("VerificationCodeTooManyRequests", 429,
        "Too many verification code requests",
        "Too many verification code requests. Please wait at least 30 seconds to receive your "
        "code before trying again."),
    "form_param_unknown": ("FormUnknownParameter", 422, "is unknown",
        "<param> is not a valid parameter for this request."),
    "form_param_format_invalid": ("FormInvalidParameterFormat", 422, "is invalid",
        "<param> is invalid."),
    "form_param_nil": ("FormNilParameter", 422, "is nil", "<param> must not be empty."),
    # real Clerk's sign-in answers (FAPI-NOTES section 11)
    "form_password_or_identifier_incorrect": ("FormPasswordOrIdentifierIncorrect", 422,
        "Password or identifier is incorrect.",
        "Password or identifier is incorrect. Try again, or use another method."),
    "no_password_set": ("NoPasswordSet", 400, "no password set",
        "This user does not have a password set for their account"),
    "form_password_validation_failed": ("FormPasswordValidationFailed", 422,
        "Incorrect password. Please try again.", "Incorrect password. Please try again."),
    "password_reset_required": ("PasswordResetRequired", 422, "password reset required",
        "This account requires a password reset before sign-in can continue. Please reset your "
        "password or contact support."),
    "requires_device_attestation": ("RequiresDeviceAttestation", 401,
        "Device attestation is required",
        "A valid device attestation could not be found for the client."),
}

_CATALOGUE = None


def shared_dir():
    """repo_root/../shared (repo root = two levels above this folder)."""
    return Path(__file__).resolve().parents[2].parent / "shared"


def catalogue():
    """api_errors.json as a list, or [] when ../shared is absent (read, never copied)."""
    global _CATALOGUE
    if _CATALOGUE is None:
        try:
            with open(shared_dir() / "clerk" / "api_errors.json", encoding="utf-8") as f:
                _CATALOGUE = json.load(f)
        except (OSError, ValueError):
            _CATALOGUE = []
    return _CATALOGUE


def lookup(code):
    """(status, message, long_message) for any code: built-in table first, then the catalogue
    (an entry used by FAPI preferred), else None."""
    if code in TABLE:
        _, status, msg, long_msg = TABLE[code]
        return status, msg, long_msg
    entries = [e for e in catalogue() if e.get("code") == code]
    if not entries:
        return None
    entries.sort(key=lambda e: not (e.get("usage") or {}).get("fapi"))
    e = entries[0]
    msg = e.get("shortMessage") or code.replace("_", " ")
    status = int(e["status"]) if str(e.get("status", "")).isdigit() else 400
    return status, msg, e.get("longMessage") or msg


def new_trace_id():
    return secrets.token_hex(16)


def error_body(code, trace_id, meta=None, long_message=None, message=None, top_meta=None,
               status=None):
    """(http_status, envelope dict) for a Clerk error."""
    found = lookup(code)
    if found is None:
        found = (status or 400, code.replace("_", " "), code.replace("_", " "))
    st, msg, long_msg = found
    err = {"code": code, "message": message or msg, "long_message": long_message or long_msg,
           "meta": meta or {}}
    return status or st, {"errors": [err], "meta": top_meta or {}, "clerk_trace_id": trace_id}
