"""Test helper: files of repo_root/../shared (read there, never copied into the repo)."""
import pytest

import errors


def shared_file(*parts):
    """Path under repo_root/../shared, or skip the calling test with a visible reason."""
    p = errors.shared_dir().joinpath(*parts)
    if not p.is_file():
        pytest.skip("%s not found (../shared beside the repo is absent): skipped" % p)
    return p
