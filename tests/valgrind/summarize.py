#!/usr/bin/python3
"""Read valgrind memcheck logs (one per process) and say what belongs to pam_clerk.

    summarize.py [--src DIR] [--show N] LOG_OR_DIR...

An error or a leak record is the module's when a frame of its stack is in pam_clerk.so or
in a source file of src/ (the library the module, the fuzz replays and the stress program
are built from). Prints totals and the module's records; exits 1 when the module has any
error or any definitely lost byte, 0 otherwise.
"""
import argparse
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
LINE = re.compile(r"^==(\d+)== ?(.*)$")
ERRSUM = re.compile(r"ERROR SUMMARY: (\d+) errors? from (\d+) contexts?")
LOST = re.compile(r"([\d,]+) (?:\(([\d,]+) direct, ([\d,]+) indirect\) )?bytes in [\d,]+ blocks? "
                  r"(?:are|is) (definitely|possibly|indirectly) lost")


def module_files(src):
    return {os.path.basename(p) for p in glob.glob(os.path.join(src, "*.c"))}


def is_module_frame(frame, files):
    if "pam_clerk.so" in frame:
        return True
    m = re.search(r"\(([^():]+\.c):\d+\)", frame)
    return bool(m and m.group(1) in files)


def blocks(path):
    """Yield (pid, [lines]) for each record (lines between blank == lines)."""
    cur, pid = [], None
    with open(path, errors="replace") as f:
        for raw in f:
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            pid = m.group(1)
            text = m.group(2)
            if text.strip() == "":
                if cur:
                    yield pid, cur
                cur = []
            else:
                cur.append(text)
    if cur:
        yield pid, cur


def analyse(path, files):
    res = {"errors": 0, "module_errors": [], "other_errors": 0, "definite_module": 0,
           "definite_other": 0, "module_leaks": [], "complete": False}
    for _, lines in blocks(path):
        head = lines[0]
        sums = [m for m in (ERRSUM.search(l) for l in lines) if m]
        if sums:
            res["errors"] = int(sums[-1].group(1))
            res["complete"] = True
            continue
        if head.startswith(("Memcheck,", "Copyright", "Using Valgrind", "Command:",
                            "Parent PID", "HEAP SUMMARY", "LEAK SUMMARY", "For lists",
                            "For counts", "Use --", "To see", "All heap blocks", "in use at",
                            "total heap usage", "definitely lost:", "indirectly lost:",
                            "possibly lost:", "still reachable:", "suppressed:",
                            "Rerun with", "Searching for pointers", "checked ",
                            "Reachable blocks")):
            continue
        frames = [l for l in lines[1:] if re.match(r"\s+(at|by) 0x", l)]
        mine = any(is_module_frame(f, files) for f in frames)
        lost = LOST.search(head)
        if lost:
            kind = lost.group(4)
            if kind != "definitely":
                continue
            n = int((lost.group(2) or lost.group(1)).replace(",", ""))
            if mine:
                res["definite_module"] += n
                res["module_leaks"].append(lines)
            else:
                res["definite_other"] += n
            continue
        if not frames:
            continue
        if mine:
            res["module_errors"].append(lines)
        else:
            res["other_errors"] += 1
            res.setdefault("other_samples", []).append(lines)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "src"))
    ap.add_argument("--show", type=int, default=5)
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    files = module_files(a.src)
    logs = []
    for p in a.paths:
        logs += sorted(glob.glob(os.path.join(p, "*.log"))) if os.path.isdir(p) else [p]
    tot = {"logs": 0, "incomplete": 0, "errors": 0, "module_errors": 0, "other_errors": 0,
           "definite_module": 0, "definite_other": 0}
    shown = 0
    for log in logs:
        r = analyse(log, files)
        tot["logs"] += 1
        tot["incomplete"] += not r["complete"]
        tot["errors"] += r["errors"]
        tot["module_errors"] += len(r["module_errors"])
        tot["other_errors"] += r["other_errors"]
        tot["definite_module"] += r["definite_module"]
        tot["definite_other"] += r["definite_other"]
        for rec in r["module_errors"] + r["module_leaks"]:
            if shown < a.show:
                print("---- %s\n  %s" % (log, "\n  ".join(rec[:25])))
                shown += 1
    print("valgrind: %(logs)d processes (%(incomplete)d without a summary), %(errors)d errors "
          "reported; in the module's code: %(module_errors)d errors, %(definite_module)d bytes "
          "definitely lost; elsewhere (Python, libraries): %(other_errors)d error records, "
          "%(definite_other)d bytes definitely lost" % tot)
    return 1 if tot["module_errors"] or tot["definite_module"] else 0


if __name__ == "__main__":
    sys.exit(main())
