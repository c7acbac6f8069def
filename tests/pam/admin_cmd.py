"""Running the built pam-clerk command (issue 16) in the tests."""
import os
import subprocess

TESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CMD = os.path.join(os.environ.get("BUILDDIR", os.path.dirname(TESTS)), "src", "pam-clerk")


class Run:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr
        self.lines = proc.stdout.splitlines()

    def kind(self, kind):
        """The report lines of one kind ("ok", "problem", ...), without the prefix."""
        return [line[len(kind) + 2:] for line in self.lines if line.startswith(kind + ": ")]

    def __repr__(self):
        return "Run(rc=%r out=%r err=%r)" % (self.rc, self.out, self.err)


def pam_clerk(*args, stdin=None, timeout=60):
    """Run it without a controlling terminal (a new session), as a script would."""
    assert os.path.exists(CMD), "build pam-clerk first: %s missing" % CMD
    extra = {"input": stdin} if stdin is not None else {"stdin": subprocess.DEVNULL}
    proc = subprocess.run([CMD] + [str(a) for a in args], text=True, capture_output=True,
                          timeout=timeout, env={"PATH": "/usr/bin:/bin"},
                          start_new_session=True, **extra)
    return Run(proc)
