"""Fixtures for the emulator's own tests: one shared emulator (reset before each test), one
with a low lockout threshold and rate limits, one dev instance, one with Device Trust, one
with legacy Device Trust, one with a fast attempt rate limit, one with v1 JWT claims and its
own secret key, and one whose JWT clock runs 120 s behind: all in the kind world
(profile "kind"); and `real_emu` / `real_dev_emu` with real Clerk's defaults."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from control import Emulator  # noqa: E402


def _session_emulator(tmp_path_factory, name, **kw):
    # the tests written before the real-Clerk defaults ask for the kind world by name
    kw.setdefault("profile", "kind")
    emu = Emulator.start(tmp_path_factory.mktemp(name), **kw)
    return emu


@pytest.fixture(scope="session")
def _shared_emu(tmp_path_factory):
    emu = _session_emulator(tmp_path_factory, "emu")
    yield emu
    emu.stop()


@pytest.fixture
def emu(_shared_emu):
    _shared_emu.reset()
    return _shared_emu


@pytest.fixture(scope="session")
def _limited_emu(tmp_path_factory):
    emu = _session_emulator(tmp_path_factory, "limited", lockout_threshold=3, rate_limit=4,
                            attempt_rate_limit=3)
    yield emu
    emu.stop()


@pytest.fixture
def limited_emu(_limited_emu):
    _limited_emu.reset()
    return _limited_emu


@pytest.fixture(scope="session")
def _dev_emu(tmp_path_factory):
    emu = _session_emulator(tmp_path_factory, "dev", dev_instance=True)
    yield emu
    emu.stop()


@pytest.fixture
def dev_emu(_dev_emu):
    _dev_emu.reset()
    return _dev_emu


def _reset_per_test(name, **kw):
    @pytest.fixture(scope="session", name="_%s_emu" % name)
    def started(tmp_path_factory):
        emu = _session_emulator(tmp_path_factory, name, **kw)
        yield emu
        emu.stop()

    @pytest.fixture(name="%s_emu" % name)
    def fresh(request):
        emu = request.getfixturevalue("_" + name + "_emu")
        emu.reset()
        return emu

    return started, fresh


_trust_emu, trust_emu = _reset_per_test("trust", device_trust=True)
_legacy_emu, legacy_emu = _reset_per_test("legacy", device_trust_legacy=True)
_attempt_limited_emu, attempt_limited_emu = _reset_per_test(
    "attempt_limited", attempt_rate_limit=2, attempt_rate_window=1.0)
_v1_emu, v1_emu = _reset_per_test("v1", jwt_claims="v1", secret_key="sk_test_other_key_123")
_skew_emu, skew_emu = _reset_per_test("skew", clock_offset=-120)
# real Clerk's defaults (profile "real"), and a development instance of it
_real_emu, real_emu = _reset_per_test("real", profile="real")
_real_dev_emu, real_dev_emu = _reset_per_test("real_dev", profile="real", dev_instance=True)
