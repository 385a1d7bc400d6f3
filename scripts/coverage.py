#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""coverage.py: which lines of each patch ran in at least one boot.

    coverage.py --tree TREE --base REV --patches DIR --out JSON
                [--reasons FILE] [--goal PCT] [--enter PATCH...]
                BOOT=BUILD_DIR:GCDA_DIR ...

TREE is a git work tree holding the patched source the kernels were built
from, REV its stock commit, DIR the series (NNNN-*.patch, the cover letter
0000-* left out). Each BOOT names a build directory (the .gcno files, next
to the objects) and the directory its guest's .gcda files were copied to
(the same relative paths: mm/memory.gcda).

Which line belongs to which patch: the patches are committed one by one on
top of REV (a private index, nothing checked out) and `git blame` of the
last commit gives, for every line of the patched source, the patch that
last changed it; the last commit's tree must be TREE's. Which lines ran:
`gcov --json-format` of every .gcda, merged over the boots (a line is
executable if gcov reports it for any object, executed if any count is
non-zero; lines of headers count through the profiled objects that include
them).

For every patch and file: the changed executable lines, the executed ones,
and each changed line that no boot ran, with its reason from FILE (lines
"PATH FUNCTION reason...", FUNCTION may be '*'). Changed functions are
entered if gcov counted a call in any boot. Exit status 1 if the executed
share is under PCT (default 90), a changed line that no boot ran has no
reason, or a changed function of a patch named with --enter was never
entered.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def git(tree, *args, env=None, data=None):
    e = dict(os.environ)
    if env:
        e.update(env)
    return subprocess.run(["git", "-C", tree, "-c", "user.name=coverage",
                           "-c", "user.email=coverage@localhost", *args],
                          input=data, capture_output=True, text=True,
                          env=e, check=True).stdout


def series(pdir):
    return sorted(os.path.join(pdir, f) for f in os.listdir(pdir)
                  if re.match(r"\d{4}-.*\.patch$", f) and not f.startswith("0000-"))


def chain(tree, base, patches):
    """Commit each patch on top of the one before; {commit: patch name}, last."""
    fd, idx = tempfile.mkstemp(prefix="coverage-index-")
    os.close(fd)
    env = {"GIT_INDEX_FILE": idx}
    try:
        git(tree, "read-tree", base, env=env)
        parent = git(tree, "rev-parse", base).strip()
        owner = {}
        for p in patches:
            git(tree, "apply", "--cached", os.path.abspath(p), env=env)
            t = git(tree, "write-tree", env=env).strip()
            parent = git(tree, "commit-tree", t, "-p", parent,
                         data=os.path.basename(p)).strip()
            owner[parent] = os.path.basename(p)
        return owner, parent
    finally:
        os.unlink(idx)


def changed_files(tree, base, last):
    return sorted(git(tree, "diff", "--name-only", base, last, "--", "*.c", "*.h").split())


def blame(tree, last, path, owner):
    """{final line number: patch} for the lines the series gave PATH."""
    try:
        out = git(tree, "blame", "--porcelain", last, "--", path)
    except subprocess.CalledProcessError:
        return {}  # the series deleted it
    lines = {}
    for m in re.finditer(r"^([0-9a-f]{40}) \d+ (\d+)", out, re.M):
        if m.group(1) in owner:
            lines[int(m.group(2))] = owner[m.group(1)]
    return lines


def gcov_files(build, gcda_dir, tree):
    """Yield gcov's JSON file records of every .gcda under GCDA_DIR."""
    for root, _, names in os.walk(gcda_dir):
        for n in names:
            if not n.endswith(".gcda"):
                continue
            rel = os.path.relpath(os.path.join(root, n), gcda_dir)
            gcno = os.path.join(build, rel[:-5] + ".gcno")
            if not os.path.exists(gcno):
                sys.exit(f"coverage: no {gcno} for {rel} (wrong build directory?)")
            with tempfile.TemporaryDirectory() as tmp:
                base = os.path.basename(rel[:-5])
                shutil.copy(os.path.join(root, n), os.path.join(tmp, base + ".gcda"))
                shutil.copy(gcno, os.path.join(tmp, base + ".gcno"))
                r = subprocess.run(["gcov", "--json-format", "--stdout",
                                    "-o", tmp, base + ".gcda"], cwd=tmp,
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(f"coverage: gcov failed on {rel}: {r.stderr.strip()}")
            for doc in r.stdout.splitlines():
                if not doc.strip():
                    continue
                d = json.loads(doc)
                # The compile ran in the build directory; the source is
                # TREE's (absolute, or relative to that directory).
                cwd = d.get("current_working_directory") or build
                if not os.path.isdir(cwd):
                    cwd = build
                for f in d["files"]:
                    src = os.path.normpath(os.path.join(cwd, f["file"]))
                    relsrc = os.path.relpath(os.path.realpath(src), os.path.realpath(tree))
                    if relsrc.startswith(".."):
                        continue
                    yield relsrc, f


def collect(boots, tree):
    lines = {}  # path -> {line: [count, function]}
    funcs = {}  # path -> {function: entered}
    seen = {}   # path -> boots that profiled it
    for name, build, gcda in boots:
        for path, f in gcov_files(build, gcda, tree):
            seen.setdefault(path, set()).add(name)
            pl = lines.setdefault(path, {})
            for ln in f["lines"]:
                e = pl.setdefault(ln["line_number"], [0, ln.get("function_name", "?")])
                e[0] += ln["count"]
            pf = funcs.setdefault(path, {})
            for fn in f["functions"]:
                pf[fn["name"]] = pf.get(fn["name"], False) or fn["execution_count"] > 0
    return lines, funcs, seen


def read_reasons(path):
    reasons = []
    if not path:
        return reasons
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split(None, 2)
            if len(parts) < 3:
                sys.exit(f"{path}:{n}: want 'PATH FUNCTION reason'")
            reasons.append(parts)
    return reasons


def reason_for(reasons, path, func):
    for p, fn, why in reasons:
        if p == path and fn in ("*", func):
            return why
    return None


def report(tree, base, pdir, boots, reasons, goal, enter):
    patches = series(pdir)
    owner, last = chain(tree, base, patches)
    want = git(tree, "rev-parse", last + "^{tree}").strip()
    have = git(tree, "stash", "create").strip() or "HEAD"
    have = git(tree, "rev-parse", have + "^{tree}").strip()
    if want != have:
        sys.exit("coverage: the series on top of the base is not the tree the kernels were built from")
    lines, funcs, seen = collect(boots, tree)
    res = {"goal_percent": goal, "boots": [b[0] for b in boots], "patches": {},
           "not_profiled": {}, "errors": []}
    tot_x = tot_e = 0
    for path in changed_files(tree, base, last):
        owned = blame(tree, last, path, owner)
        if path not in lines:
            if any(owned.values()) and path.endswith(".c"):
                why = reason_for(reasons, path, "*")
                res["not_profiled"][path] = why or "no reason given"
                if not why:
                    res["errors"].append(f"{path}: not profiled in any boot, and no reason")
            continue
        pl = lines[path]
        for ln, patch in sorted(owned.items()):
            if ln not in pl:
                continue  # not executable
            count, func = pl[ln]
            pe = res["patches"].setdefault(patch, {"files": {}, "functions": {}})
            fe = pe["files"].setdefault(path, {"changed_executable": 0, "executed": 0,
                                               "unexecuted": []})
            fe["changed_executable"] += 1
            tot_x += 1
            pe["functions"][func] = funcs.get(path, {}).get(func, count > 0)
            if count > 0:
                fe["executed"] += 1
                tot_e += 1
            else:
                why = reason_for(reasons, path, func)
                fe["unexecuted"].append({"line": ln, "function": func,
                                         "reason": why or "no reason given"})
                if not why:
                    res["errors"].append(f"{path}:{ln} ({func}, {patch}): not run, and no reason")
    for patch in enter:
        pe = next((v for k, v in res["patches"].items() if k.startswith(patch)), None)
        for fn, ok in (pe or {"functions": {}})["functions"].items():
            if not ok:
                res["errors"].append(f"{patch}: changed function {fn} never entered")
    res["changed_executable"] = tot_x
    res["executed"] = tot_e
    res["percent"] = round(100.0 * tot_e / tot_x, 1) if tot_x else 0.0
    if res["percent"] < goal:
        res["errors"].append(f"{res['percent']}% of the changed executable lines ran, goal {goal}%")
    return res


def table(res):
    out = [f"{'patch':<60} {'lines':>6} {'ran':>6}"]
    for patch in sorted(res["patches"]):
        fs = res["patches"][patch]["files"].values()
        x = sum(f["changed_executable"] for f in fs)
        e = sum(f["executed"] for f in fs)
        out.append(f"{patch[:60]:<60} {x:>6} {e:>6}")
    out.append(f"{'total':<60} {res['changed_executable']:>6} {res['executed']:>6}"
               f"  {res['percent']}% (goal {res['goal_percent']}%)")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tree", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--patches", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--reasons")
    ap.add_argument("--goal", type=float, default=90.0)
    ap.add_argument("--enter", nargs="*", default=[])
    ap.add_argument("boots", nargs="+", metavar="BOOT=BUILD_DIR:GCDA_DIR")
    a = ap.parse_args()
    boots = []
    for b in a.boots:
        name, _, dirs = b.partition("=")
        build, _, gcda = dirs.partition(":")
        if not (name and os.path.isdir(build) and os.path.isdir(gcda)):
            sys.exit(f"coverage: bad boot '{b}' (want NAME=BUILD_DIR:GCDA_DIR, both directories)")
        boots.append((name, build, gcda))
    res = report(a.tree, a.base, a.patches, boots, read_reasons(a.reasons), a.goal, a.enter)
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    print(table(res))
    for e in res["errors"]:
        print("coverage: " + e, file=sys.stderr)
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
