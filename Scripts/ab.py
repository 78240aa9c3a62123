#!/usr/bin/env python3
"""Interleaved A/B timing of `ferry transform` builds: the before/after pairs in BENCHMARKS.md.

    Scripts/ab.py /tmp/before/ferry /tmp/after/ferry

Copy each build somewhere of its own first, with its `ferry_FerrySchemes.resources` directory beside
it (`cp -r .build/release/ferry .build/release/ferry_FerrySchemes.resources /tmp/before/`). Every round
runs each binary on one core (`taskset -c 0`) and on two (`taskset -c 0,1`), in turn, so a machine that
slows down or speeds up during the pair affects both sides alike; it prints the medians.

Environment: CORPUS (default /tmp/fb/corpus-10, a corpus made by `ferry-bench corpus` or bench.sh),
N (rounds, default 15), OUT (output directory, removed before each run; default /dev/shm/ferry-ab),
LOOKUPS (default Templates/lookups of this checkout).
"""
import os
import shutil
import statistics
import subprocess
import sys
import time

binaries = sys.argv[1:]
if not binaries:
    sys.exit(__doc__)
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
corpus = os.environ.get("CORPUS", "/tmp/fb/corpus-10")
rounds = int(os.environ.get("N", "15"))
out = os.environ.get("OUT", "/dev/shm/ferry-ab")
lookups = os.environ.get("LOOKUPS", os.path.join(root, "Templates", "lookups"))
cores = ("0", "0,1")

times = {(binary, c): [] for binary in binaries for c in cores}
for _ in range(rounds):
    for c in cores:
        for binary in binaries:
            shutil.rmtree(out, ignore_errors=True)
            start = time.perf_counter()
            # Exit code 1 (documents rejected, as the generated corpora make it do) is expected.
            subprocess.run(
                ["taskset", "-c", c, binary, "transform", "--input", corpus, "--output", out, "--lookups", lookups],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            times[(binary, c)].append(time.perf_counter() - start)
shutil.rmtree(out, ignore_errors=True)
for binary in binaries:
    one = statistics.median(times[(binary, "0")])
    two = statistics.median(times[(binary, "0,1")])
    print(f"{binary}: 1 core {one * 1000:.1f} ms, 2 cores {two * 1000:.1f} ms, 2 ÷ 1 {one / two:.2f}× ({rounds} rounds)")
