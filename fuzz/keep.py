#!/usr/bin/env python3
"""Keeps a small regression set for one fuzz target:
    fuzz/keep.py TARGET [N]        (N defaults to 30)

Copies every crash/timeout/oom the fuzzer left in fuzz/artifacts/TARGET/ to
tests/fuzz_regressions/TARGET/, then adds up to N corpus inputs chosen
greedily by libFuzzer features (from a -merge=1 control file): each pick
adds the most features the kept set does not reach yet, ties going to the
smaller input. Inputs already kept count as reached."""
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
t = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 30
keep = os.path.join(HERE, "..", "tests", "fuzz_regressions", t)
os.makedirs(keep, exist_ok=True)
arts = os.path.join(HERE, "artifacts", t)
for f in sorted(os.listdir(arts)) if os.path.isdir(arts) else []:
    if f.split("-")[0] in ("crash", "timeout", "oom"):
        shutil.copy(os.path.join(arts, f), keep)
binary = os.path.join(HERE, "target/x86_64-unknown-linux-gnu/release", t)
with tempfile.TemporaryDirectory() as tmp:
    ctl = os.path.join(tmp, "ctl")
    out = os.path.join(tmp, "out")
    os.mkdir(out)
    subprocess.run([binary, "-merge=1", "-merge_control_file=" + ctl, "-rss_limit_mb=2048",
                    "-timeout=10", "-max_len=1048576", out, keep, os.path.join(HERE, "corpus", t)],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    lines = open(ctl).read().splitlines()
    nfiles = int(lines[0])
    files = lines[2:2 + nfiles]
    feats = {}
    for line in lines[2 + nfiles:]:
        parts = line.split()
        if parts and parts[0] == "FT":
            feats[int(parts[1])] = set(parts[2:])
reached = set()
for i, f in enumerate(files):
    if os.path.dirname(os.path.abspath(f)) == os.path.abspath(keep):
        reached |= feats.get(i, set())
cands = [i for i, f in enumerate(files) if os.path.dirname(os.path.abspath(f)) != os.path.abspath(keep)]
picked = []
while len(picked) < n:
    best = max(cands, key=lambda i: (len(feats.get(i, set()) - reached), -os.path.getsize(files[i])), default=None)
    if best is None or not feats.get(best, set()) - reached:
        break
    reached |= feats[best]
    picked.append(best)
    cands.remove(best)
for i in picked:
    shutil.copy(files[i], keep)
total = set().union(*feats.values()) if feats else set()
print(f"{t}: kept {len(os.listdir(keep))} inputs ({len(picked)} new) reaching {len(reached)} of {len(total)} features of the corpus")
