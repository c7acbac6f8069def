"""Fixtures for the emulator's own tests: one shared emulator (reset before each test), one
with a low lockout threshold and a rate limit, one dev instance."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from control import Emulator  # noqa: E402


def _session_emulator(tmp_path_factory, name, **kw):
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
    emu = _session_emulator(tmp_path_factory, "limited", lockout_threshold=3, rate_limit=4)
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
