#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test scripts/coverage.py on a made-up tree and series. KTAP.

A git tree with one C file (the stock commit), a series of three patches
made with git format-patch (the first adds a called function and one that
is never called, the second rewrites a line of the first and adds a header
inline, the third adds a file no build compiles), built with --coverage in
a separate build directory as an O= kernel build is, run once, and its
.gcda moved to a directory of its own as the guest's copy is. Every class
of failure coverage.py claims to catch must fail it: a changed line that
ran nowhere without a reason, a changed file no boot profiled without a
reason, a share under the goal, a changed function of an --enter patch
never entered, a tree that is not the series on the base. The line
counts must be exact, and lines must belong to the last patch that
changed them.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

STOCK = """int f(int x)
{
\treturn x + 1;
}

int main(void)
{
\treturn f(1) - 2;
}
"""
# Patch 1: f() gains two executed lines; g() is new and never called.
P1 = """int f(int x)
{
\tint y = x * 2;

\ty = y - x;
\treturn y + 1;
}

int g(int x)
{
\tif (x)
\t\treturn 3;
\treturn 4;
}

int main(void)
{
\treturn f(1) - 2;
}
"""
# Patch 2: rewrites one line of patch 1 and calls an inline of a new header.
P2 = P1.replace("\ty = y - x;\n", "\ty = h(y) - x;\n").replace(
    "int f(int x)", '#include "h.h"\n\nint f(int x)', 1)
H = """static inline int h(int v)
{
\treturn v;
}
"""


def sh(cwd, *args):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True)


def git(cwd, *args):
    sh(cwd, "git", "-c", "user.name=t", "-c", "user.email=t@localhost", *args)


def make(tmp):
    tree, build, gcda, pdir = (os.path.join(tmp, d) for d in ("tree", "build", "gcda", "patches"))
    os.makedirs(os.path.join(tree, "src"))
    os.makedirs(os.path.join(build, "src"))
    os.makedirs(os.path.join(gcda, "src"))
    git(tmp, "init", "-q", tree)

    def commit(files, msg):
        for p, text in files.items():
            with open(os.path.join(tree, p), "w") as f:
                f.write(text)
            git(tree, "add", p)
        git(tree, "commit", "-q", "-m", msg)
    commit({"src/a.c": STOCK}, "stock")
    git(tree, "tag", "pristine")
    commit({"src/a.c": P1}, "one")
    commit({"src/a.c": P2, "src/h.h": H}, "two")
    commit({"src/other.c": "int other(void)\n{\n\treturn 0;\n}\n"}, "three")
    git(tree, "format-patch", "-q", "--cover-letter", "-o", pdir, "pristine..HEAD")
    # Built as kbuild does with O=: in the build directory, the source
    # named relative to it.
    sh(build, "gcc", "--coverage", "-O0", "-c", "../tree/src/a.c", "-o", "src/a.o")
    sh(build, "gcc", "--coverage", "src/a.o", "-o", "a")
    subprocess.run([os.path.join(build, "a")], cwd=build)
    shutil.move(os.path.join(build, "src", "a.gcda"), os.path.join(gcda, "src", "a.gcda"))
    return tree, build, gcda, pdir


def run(tmp, tree, build, gcda, pdir, reasons=None, extra=()):
    out = os.path.join(tmp, "coverage.json")
    args = [sys.executable, os.path.join(HERE, "coverage.py"), "--tree", tree,
            "--base", "pristine", "--patches", pdir, "--out", out, *extra]
    if reasons is not None:
        rf = os.path.join(tmp, "reasons")
        with open(rf, "w") as f:
            f.write(reasons)
        args += ["--reasons", rf]
    r = subprocess.run(args + [f"boot={build}:{gcda}"], capture_output=True, text=True)
    res = json.load(open(out)) if os.path.exists(out) else None
    return r.returncode, res, r.stdout + r.stderr


GOOD = "src/a.c g only a test would call it\nsrc/other.c * no build compiles it\n"


def lines_of(res, patch):
    p = next(v for k, v in res["patches"].items() if k.startswith(patch))
    f = p["files"]["src/a.c"]
    return f["changed_executable"], f["executed"], sorted(u["line"] for u in f["unexecuted"])


def main():
    cases = []

    def case(name, fn):
        cases.append((name, fn))

    def exact(t):
        rc, res, log = run(t["tmp"], *t["dirs"], reasons=GOOD, extra=["--goal", "50"])
        assert rc == 0, log
        # Patch 1 keeps "int y = x * 2;" and "return y + 1;" of f() and
        # g() (its line and three statements, never run); its
        # "y = y - x;" is patch 2's now, with the two lines of the
        # header inline h() that f() ran.
        assert lines_of(res, "0001") == (6, 2, [11, 13, 14, 15]), (lines_of(res, "0001"), log)
        assert lines_of(res, "0002") == (1, 1, []), (lines_of(res, "0002"), log)
        p2 = next(v for k, v in res["patches"].items() if k.startswith("0002"))
        h = p2["files"]["src/h.h"]
        assert (h["changed_executable"], h["executed"]) == (2, 2), (h, log)
        p1 = next(v for k, v in res["patches"].items() if k.startswith("0001"))
        assert p1["functions"] == {"f": True, "g": False}, (p1["functions"], log)
        assert (res["changed_executable"], res["executed"]) == (9, 5), log
    case("counts_are_exact_and_per_last_patch", exact)

    def noreason(t):
        rc, res, log = run(t["tmp"], *t["dirs"], reasons="src/other.c * no build\n",
                           extra=["--goal", "50"])
        assert rc == 1 and "src/a.c:" in log and "(g, 0001" in log, log
    case("unexecuted_line_without_reason_fails", noreason)

    def notprofiled(t):
        rc, res, log = run(t["tmp"], *t["dirs"], reasons="src/a.c g test\n",
                           extra=["--goal", "50"])
        assert rc == 1 and "src/other.c: not profiled" in log, log
    case("unprofiled_file_without_reason_fails", notprofiled)

    def goal(t):
        rc, res, log = run(t["tmp"], *t["dirs"], reasons=GOOD)
        assert rc == 1 and "goal 90.0%" in log, log
    case("share_under_goal_fails", goal)

    def enter(t):
        rc, res, log = run(t["tmp"], *t["dirs"], reasons=GOOD,
                           extra=["--goal", "50", "--enter", "0001"])
        assert rc == 1 and "changed function g never entered" in log, log
        rc, res, log = run(t["tmp"], *t["dirs"], reasons=GOOD,
                           extra=["--goal", "50", "--enter", "0002"])
        assert rc == 0, log
    case("enter_patch_with_unentered_function_fails", enter)

    def mismatch(t):
        tree = t["dirs"][0]
        with open(os.path.join(tree, "src/a.c"), "a") as f:
            f.write("/* edited */\n")
        try:
            rc, res, log = run(t["tmp"], *t["dirs"], reasons=GOOD, extra=["--goal", "50"])
        finally:
            git(tree, "checkout", "-q", "--", "src/a.c")
        assert rc != 0 and "not the tree" in log, log
    case("tree_other_than_the_series_fails", mismatch)

    print("KTAP version 1")
    print(f"1..{len(cases)}")
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        t = {"tmp": tmp, "dirs": make(tmp)}
        for i, (name, fn) in enumerate(cases, 1):
            try:
                fn(t)
                print(f"ok {i} {name}")
            except AssertionError as e:
                failed += 1
                print(f"# {str(e)[:2000]}".replace("\n", "\n# "))
                print(f"not ok {i} {name}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
