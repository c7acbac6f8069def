"""The sample stacks of etc/ (README's recipes), as the end-to-end tests use them.

A recipe's sample holds the PAM lines an administrator puts in place of
"@include common-auth" in Debian's file of that service. splice() does just
that to the sandbox's copy of the host's file (a Sandbox's pam.d), with the
module named by its path and the test's arguments (emulator, CA, conf=,
state_dir=) appended to the sample's own, and common-auth's "Additional"
block copied after the sample's lines, as the samples say.
"""
import os
import re

import e2e

ETC = os.path.join(e2e.SRCDIR, "etc")
ADDITIONAL_MARK = 'the "Additional" block'


def sample_lines(name):
    """The live lines of etc/<name> (comments and blank lines dropped)."""
    with open(os.path.join(ETC, name), encoding="utf-8") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]


def clerk_line(lines):
    found = [ln for ln in lines if re.search(r"\spam_clerk\.so(\s|$)", ln)]
    assert found, "no pam_clerk.so line in %r" % lines
    return found[0]


def with_module(line, module, args):
    """A sample line with pam_clerk.so replaced by module and args appended."""
    return re.sub(r"(?<=\s)pam_clerk\.so(?=\s|$)", module, line) + (
        " " + " ".join(args) if args and re.search(r"\spam_clerk\.so(\s|$)", line) else "")


def additional_block(pamd):
    """Live lines after the "Additional" mark of common-auth in the pam.d dir."""
    out, on = [], False
    with open(os.path.join(pamd, "common-auth")) as f:
        for line in f:
            if ADDITIONAL_MARK in line:
                on = True
            elif on and line.strip() and not line.lstrip().startswith("#"):
                out.append(line.strip())
    return out


def splice(sandbox, service, sample, module, args, additional=True, original=None):
    """The host's /etc/pam.d/<original or service> (Debian's file) with "@include
    common-auth" replaced by the sample's lines (pam_clerk.so -> module + args), written
    as the sandbox's <service>. Returns the new file's lines."""
    path = os.path.join("/etc/pam.d", original or service)
    with open(path) as f:
        lines = f.read().splitlines()
    block = [with_module(ln, module, args) for ln in sample_lines(sample)
             if ln.split()[0] == "auth"]
    if additional:
        block += additional_block(sandbox.pamd)
    idx = [i for i, ln in enumerate(lines) if re.match(r"^@include\s+common-auth\s*$", ln)]
    assert len(idx) == 1, "%s: expected one '@include common-auth', found %d" % (
        path, len(idx))
    new = lines[:idx[0]] + block + lines[idx[0] + 1:]
    sandbox.service(service, new)
    return new


def typo_conf(path):
    """A configuration file with a misspelt key: pam_clerk's config error."""
    return e2e.write_root_file(path, "publishable_kye = pk_test_typo\n")
