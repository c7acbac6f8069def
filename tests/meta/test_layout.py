"""README's layout table is the map of the source: every file under src/ is in
it, with its job, and every file keeps under 600 lines."""
import glob
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def layout_files():
    text = open(os.path.join(ROOT, "README.md")).read()
    table = text.split("## Layout", 1)[1].split("\n## ", 1)[0]
    named = set()
    for line in table.splitlines():
        if not line.startswith("| `src/"):
            continue
        cell = line.split("|")[1]
        folder = "src"
        for name in re.findall(r"`([^`]+)`", cell):
            if "/" in name:
                folder = os.path.dirname(name)
                named.add(name)
            else:
                named.add(folder + "/" + name)
    return named


def source_files():
    return {os.path.relpath(p, ROOT) for p in glob.glob(os.path.join(ROOT, "src", "*.[ch]"))}


def test_every_source_file_is_in_the_layout_table():
    assert sorted(source_files() - layout_files()) == []


def test_the_layout_table_names_only_files_that_exist():
    assert sorted(layout_files() - source_files()) == []


def test_every_source_file_is_under_600_lines():
    long = {p: n for p in source_files()
            if (n := sum(1 for _ in open(os.path.join(ROOT, p)))) >= 600}
    assert long == {}
