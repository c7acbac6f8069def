"""Fixtures of the end-to-end tests (see e2e.py for what they touch and undo)."""
import fcntl
import os
import time

import pytest

import e2e


LOCK = "/run/lock/pam_clerk-e2e.lock" if os.path.isdir("/run/lock") else "/tmp/pam_clerk-e2e.lock"


@pytest.fixture(scope="session", autouse=True)
def machine_lock():
    """One run of these tests at a time on a machine: they create the same
    local accounts and install the same package. (Taken before any fixture
    of a root-only test runs; without root there is nothing to protect.)"""
    if not e2e.is_root():
        yield
        return
    fd = os.open(LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + 600
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail("another run of the end-to-end tests holds %s" % LOCK)
                time.sleep(0.5)
        yield
    finally:
        os.close(fd)


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    if not e2e.is_root():
        pytest.skip("end-to-end tests run as root")
    e2e.need_module()
    # written before the real-Clerk defaults: the kind world, by name
    emu = e2e.Emulator(str(tmp_path_factory.mktemp("emulator")), profile="kind").start()
    yield emu
    emu.stop()


@pytest.fixture
def emu(emulator):
    emulator.reset()
    yield emulator
    emulator.clear_faults()


@pytest.fixture
def syslog():
    sink = e2e.SyslogSink()
    yield sink
    sink.close()


@pytest.fixture
def conf(tmp_path):
    """An empty root-owned 0600 configuration file (conf=), so that the host's
    /etc/security/pam_clerk.conf, if any, plays no part."""
    return e2e.write_root_file(os.path.join(str(tmp_path), "pam_clerk.conf"), "")
