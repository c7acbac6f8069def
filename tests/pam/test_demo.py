"""README's demo command works: the right password is accepted, the wrong
one refused, against the bundled emulator."""
import os
import subprocess

from conftest import MODULE, TESTS


def test_demo_accepts_then_refuses():
    env = dict(os.environ, BUILDDIR=os.path.dirname(os.path.dirname(os.path.dirname(MODULE))),
               SRCDIR=os.path.dirname(TESTS), TEST_PYTHON="/usr/bin/python3")
    p = subprocess.run(["sh", os.path.join(TESTS, "demo.sh")], env=env, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "demo: right password: accepted; wrong password: refused" in p.stdout
    assert "outcome=success" in p.stdout and "outcome=bad_credentials" in p.stdout
    assert "HelloPrimaryData" not in p.stdout.replace("(password: HelloPrimaryData)", "")
