"""README and the sample configuration say what the code does: the outcome
table and the configuration keys are the same in both places."""
import os
import re

from conftest import TESTS

ROOT = os.path.dirname(TESTS)


def read(*path):
    with open(os.path.join(ROOT, *path), encoding="utf-8") as f:
        return f.read()


def code_outcomes():
    rows = re.findall(r'\[OUTCOME_\w+\] = \{\s*"(\w+)",\s*(PAM_\w+)', read("src", "outcome.c"))
    assert len(rows) >= 15, rows
    return dict(rows)


def readme_outcomes():
    return dict(re.findall(r"^\| `(\w+)` \| `(PAM_\w+)` \|", read("README.md"), re.M))


def test_readme_return_codes_match_the_code():
    assert readme_outcomes() == code_outcomes()


def code_keys():
    keys = re.findall(r"^\s*\{\s*\"(\w+)\",\s*K_\w+,\s*AT\(", read("src", "conf.c"), re.M)
    assert len(keys) >= 13, keys
    return set(keys)


def test_readme_lists_every_key():
    documented = set(re.findall(r"^\| `(\w+)` \| ", read("README.md"), re.M))
    assert code_keys() <= documented, code_keys() - documented


def test_sample_config_mentions_every_key():
    sample = read("etc", "pam_clerk.conf")
    mentioned = set(re.findall(r"^#?(\w+)(?:\s*=|\s*$)", sample, re.M))
    # conf= is a module argument only; the sample file explains itself instead.
    assert code_keys() - {"conf"} <= mentioned, code_keys() - mentioned


def test_man_page_lists_every_key():
    page = read("man", "pam_clerk.conf.5")
    documented = set(re.findall(r"^\.BI? (\w+)", page, re.M))
    assert code_keys() <= documented, code_keys() - documented
