"""The module exports only pam_sm_*, all six of them, and stays resident."""
import subprocess

from conftest import MODULE

EXPECTED = {"pam_sm_authenticate", "pam_sm_setcred", "pam_sm_acct_mgmt",
            "pam_sm_open_session", "pam_sm_close_session", "pam_sm_chauthtok"}


def test_only_pam_sm_symbols_are_exported():
    out = subprocess.run(["nm", "-D", "--defined-only", MODULE], check=True,
                         capture_output=True, text=True).stdout
    names = {line.split()[-1] for line in out.splitlines() if line.strip()}
    assert names == EXPECTED, names ^ EXPECTED


def test_module_is_hardened_and_nodelete():
    out = subprocess.run(["readelf", "-d", "-l", "-W", MODULE], check=True,
                         capture_output=True, text=True).stdout
    assert "NODELETE" in out, "OpenSSL must not be unloaded with the module"
    assert "BIND_NOW" in out or "NOW" in out
    assert "GNU_RELRO" in out
    assert "GNU_STACK" in out and "RWE" not in out


def test_module_loads_with_dlopen():
    import ctypes
    import os
    lib = ctypes.CDLL(MODULE, mode=os.RTLD_NOW)
    for name in EXPECTED:
        assert getattr(lib, name) is not None
