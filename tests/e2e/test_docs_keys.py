"""The documentation says what the code does, in both directions:

  - every configuration key the code accepts (the { "name", K_..., AT(...) }
    rows of src/conf.c) is in pam_clerk.conf(5), in the OPTIONS of
    pam_clerk(8) and in the sample etc/pam_clerk.conf, each with its
    default, and none of them lists a key the code does not accept;
  - the outcomes and PAM codes of src/outcome.c are those of pam_clerk(8);
  - the stacks pam_clerk(8) recommends are the ones the end-to-end tests run,
    and its Debian example is what debian/pam-configs/clerk renders to.

Runs without root.
"""
import os
import re

import pytest

import e2e

ROOT = e2e.SRCDIR


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


# ---- what the code says ----------------------------------------------------------------
def code_keys():
    keys = re.findall(r'^\s*\{\s*"(\w+)",\s*K_\w+,\s*AT\(', read("src", "conf.c"), re.M)
    assert len(keys) >= 13, keys
    assert len(keys) == len(set(keys)), keys
    return set(keys)


def code_outcomes():
    rows = re.findall(r'\[OUTCOME_\w+\]\s*=\s*\{\s*"(\w+)",\s*(PAM_\w+)', read("src",
                                                                            "outcome.c"))
    assert len(rows) >= 15, rows
    return dict(rows)


# ---- what the man pages say ----------------------------------------------------------------
def sections(page):
    """{".SH name": [lines]} of a man page."""
    out, name = {}, None
    for line in page.splitlines():
        m = re.match(r'^\.SH\s+"?([^"]+)"?\s*$', line)
        if m:
            name = m.group(1).strip()
            out[name] = []
        elif name:
            out[name].append(line)
    return out


def tagged_paragraphs(lines):
    """[(tag line, paragraph text)] of the .TP entries in lines."""
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith(".TP") and i + 1 < len(lines):
            tag, body, j = lines[i + 1], [], i + 2
            while j < len(lines) and not re.match(r"^\.(TP|SH|SS|PP|P|LP)\b", lines[j]):
                body.append(lines[j])
                j += 1
            out.append((tag, " ".join(body)))
            i = j
        else:
            i += 1
    return out


def key_of(tag):
    m = re.match(r'^\.B[IR]?\s+"?([a-z_]+)=?', tag)
    return m.group(1) if m else None


def documented_keys(page, section):
    secs = sections(read("man", page))
    assert section in secs, "%s has no %s section" % (page, section)
    entries = [(key_of(tag), tag, text) for tag, text in tagged_paragraphs(secs[section])]
    bad = [tag for k, tag, _ in entries if not k]
    assert not bad, "%s %s: entries that name no key: %r" % (page, section, bad)
    return [(k, text) for k, _, text in entries]


@pytest.mark.parametrize("page,section", [("pam_clerk.conf.5", "KEYS"),
                                          ("pam_clerk.8", "OPTIONS")])
def test_man_page_keys_are_the_code_keys(page, section):
    entries = documented_keys(page, section)
    keys = [k for k, _ in entries]
    assert len(keys) == len(set(keys)), "listed twice: %r" % keys
    missing = code_keys() - set(keys)
    extra = set(keys) - code_keys()
    assert not missing and not extra, \
        "%s %s: lacks keys the code accepts: %s; lists keys the code does not accept: %s" % (
            page, section, sorted(missing), sorted(extra))


@pytest.mark.parametrize("page,section", [("pam_clerk.conf.5", "KEYS"),
                                          ("pam_clerk.8", "OPTIONS")])
def test_man_page_gives_every_default(page, section):
    no_default = [k for k, text in documented_keys(page, section)
                  if not re.search(r"\b[Dd]efault\b", text)]
    assert not no_default, "%s: no default given for %s" % (page, no_default)


def sample_keys():
    """Keys the sample configuration sets or shows commented out (#key = ..., #flag)."""
    return re.findall(r"^#?(\w+)(?:\s*=.*|\s*)$", read("etc", "pam_clerk.conf"), re.M)


def test_sample_config_keys_are_the_code_keys():
    keys = set(sample_keys())
    # conf= is a module argument only: the file cannot name another file.
    missing = code_keys() - {"conf"} - keys
    extra = keys - code_keys()
    assert not missing and not extra, \
        "etc/pam_clerk.conf: lacks keys the code accepts: %s; shows keys the code does not " \
        "accept: %s" % (sorted(missing), sorted(extra))
    assert "conf" not in keys


def test_sample_config_sets_nothing():
    """The sample is all comments: installing it changes no behaviour."""
    live = [ln for ln in read("etc", "pam_clerk.conf").splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")]
    assert live == []


# ---- outcomes and return codes ---------------------------------------------------------------
def man_outcomes():
    secs = sections(read("man", "pam_clerk.8"))
    rows = {}
    for tag, _text in tagged_paragraphs(secs["LOGGING"]):
        m = re.match(r"^\\fB(\w+)\\fR \\\(em \\fB(PAM_\w+)\\fR$", tag)
        assert m, "unexpected LOGGING entry %r" % tag
        assert m.group(1) not in rows, "outcome listed twice: %s" % m.group(1)
        rows[m.group(1)] = m.group(2)
    return rows


def test_man_page_outcomes_are_the_code_outcomes():
    assert man_outcomes() == code_outcomes()


# Codes libpam itself gives through the module, and the ones of other stages.
NOT_OUTCOMES = {"PAM_USER_UNKNOWN", "PAM_CONV_ERR", "PAM_AUTHTOK_RECOVERY_ERR", "PAM_IGNORE"}


def test_man_page_return_values():
    secs = sections(read("man", "pam_clerk.8"))
    codes = []
    for tag, text in tagged_paragraphs(secs["RETURN VALUES"]):
        m = re.match(r"^\.B (PAM_\w+)$", tag)
        assert m, tag
        assert text.strip(), "%s: no word on when it happens" % m.group(1)
        codes.append(m.group(1))
    assert len(codes) == len(set(codes)), codes
    from_code = set(code_outcomes().values())
    assert from_code <= set(codes), "not in RETURN VALUES: %s" % sorted(from_code - set(codes))
    assert set(codes) <= from_code | NOT_OUTCOMES, sorted(set(codes) - from_code - NOT_OUTCOMES)


# ---- examples and the rest of what the pages must cover -----------------------------------
def test_man_page_stacks_are_the_tested_ones():
    page = read("man", "pam_clerk.8")
    flat = re.sub(r"[ \t]+", " ", page)
    # The recipe stack of etc/sshd.pam (which test_sshd_recipe.py, test_login.py,
    # test_su_recipe.py and test_sudo.py splice into Debian's files) is the one shown.
    with open(os.path.join(ROOT, "etc", "sshd.pam"), encoding="utf-8") as f:
        sample = [re.sub(r"\s+", " ", ln.strip()) for ln in f
                  if ln.strip().startswith("auth")]
    assert len(sample) == 4, sample
    for line in sample:
        assert line in flat, "pam_clerk.8 does not show the sample line %r" % line
    for name in ("login.pam", "su.pam", "sudo.pam", "dovecot.pam"):
        with open(os.path.join(ROOT, "etc", name), encoding="utf-8") as f:
            lines = [re.sub(r"\s+", " ", ln.strip()) for ln in f
                     if ln.strip().startswith("auth")]
        assert [re.sub(r" end_session=auth$", "", ln) for ln in lines] == sample, name
    for needed in (".SS sshd", ".SS login", ".SS su", ".SS sudo", ".SS Apache",
                   ".SS Dovecot", ".SS pamtester", "KbdInteractiveAuthentication yes",
                   "PasswordAuthentication yes", "pam-auth-update --enable clerk",
                   "pam_group", "service_err=ignore"):
        assert needed in page, needed


def profile_lines(field):
    lines, on = [], False
    for line in read("debian", "pam-configs", "clerk").splitlines():
        if re.match(r"^\S", line):
            on = line.split(":", 1)[0] == field
        elif on and line.strip():
            lines.append(line.strip())
    return lines


@pytest.mark.skipif(not os.path.isdir(os.path.join(ROOT, "debian")),
                    reason="no debian/ in this tree")
def test_man_page_shows_the_rendered_debian_profile():
    page = [re.sub(r"\s+", " ", ln) for ln in read("man", "pam_clerk.8").splitlines()]
    for line in profile_lines("Auth-Initial"):
        want = re.escape(re.sub(r"\s+", " ", line)).replace("end", r"\d+")
        assert any(re.fullmatch("auth " + want, ln) for ln in page), \
            "pam_clerk.8 does not show the profile line %r as rendered" % line


def test_man_pages_cover_files_and_security():
    page = read("man", "pam_clerk.8")
    secs = sections(page)
    for sec in ("FILES", "SECURITY", "EXAMPLES", "RETURN VALUES", "OPTIONS"):
        assert sec in secs, sec
    security = "\n".join(secs["SECURITY"])
    for needed in ("60 seconds", "What is stored", "What is exported", "/var/lib/pam_clerk"):
        assert needed in security, needed
    files = "\n".join(secs["FILES"])
    for needed in ("/etc/security/pam_clerk.conf", "/usr/share/pam-configs/clerk"):
        assert needed in files, needed


def test_make_install_installs_the_man_pages():
    am = read("Makefile.am")
    m = re.search(r"^(?:dist_)?man_MANS\s*=\s*(.*)$", am, re.M)
    assert m, "Makefile.am installs no man pages"
    assert set(m.group(1).split()) >= {"man/pam_clerk.8", "man/pam_clerk.conf.5"}
