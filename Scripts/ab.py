#!/usr/bin/env python3
"""Interleaved A/B timing of `ferry transform` builds: the before/after pairs in BENCHMARKS.md.

    Scripts/ab.py /tmp/before/ferry /tmp/after/ferry

Copy each build somewhere of its own first, with its `ferry_FerrySchemes.resources` directory beside
it (`cp -r .build/release/ferry .build/release/ferry_FerrySchemes.resources /tmp/before/`). Every round
runs each binary on one core (`taskset -c 0`) and on two (`taskset -c 0,1`), in turn, so a machine that
slows down or speeds up during the pair affects both sides alike; it prints the medians.

A run that exits with anything but 0 or 1 (1: documents rejected, as the generated corpora make it do)
stops the comparison. At the end the outputs of every binary's last run on each core count are compared
byte for byte (payloads, rejects, manifest) and a difference stops it too: a before/after pair must
agree. SAME=0 skips that check, for a change meant to alter the output.

Environment: CORPUS (default /tmp/fb/corpus-10, a corpus made by `ferry-bench corpus` or bench.sh),
N (rounds, default 15), OUT (prefix of the output directories, removed before each run; default
/dev/shm/ferry-ab), LOOKUPS (default Templates/lookups of this checkout), SAME (default 1).
"""
import filecmp
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

check_same = os.environ.get("SAME", "1") != "0"


def output_dir(index, c):
    return f"{out}-{index}-{'two' if ',' in c else 'one'}"


def differences(left, right):
    """Files that are in only one of the two directories, or whose bytes differ."""
    found = []
    compared = filecmp.dircmp(left, right)
    found += [os.path.join(left, name) for name in compared.left_only + compared.funny_files]
    found += [os.path.join(right, name) for name in compared.right_only]
    _, mismatch, errors = filecmp.cmpfiles(left, right, compared.common_files, shallow=False)
    found += [os.path.join(left, name) for name in mismatch + errors]
    for name in compared.common_dirs:
        found += differences(os.path.join(left, name), os.path.join(right, name))
    return found


def clean():
    for index in range(len(binaries)):
        for c in cores:
            shutil.rmtree(output_dir(index, c), ignore_errors=True)


times = {(binary, c): [] for binary in binaries for c in cores}
try:
    for _ in range(rounds):
        for c in cores:
            for index, binary in enumerate(binaries):
                target = output_dir(index, c)
                shutil.rmtree(target, ignore_errors=True)
                command = ["taskset", "-c", c, binary, "transform", "--input", corpus, "--output", target,
                           "--lookups", lookups]
                start = time.perf_counter()
                status = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
                times[(binary, c)].append(time.perf_counter() - start)
                if status not in (0, 1):
                    sys.exit(f"ab.py: exit status {status} from: {' '.join(command)}\nab.py: run it to see why; nothing was compared")
    if check_same:
        reference = output_dir(0, cores[0])
        for index in range(len(binaries)):
            for c in cores:
                other = output_dir(index, c)
                if other != reference and (found := differences(reference, other)):
                    shown = ", ".join(found[:5]) + (", …" if len(found) > 5 else "")
                    sys.exit(f"ab.py: {binaries[index]} on cores {c} wrote other outputs than {binaries[0]} on one core "
                             f"({len(found)} differ: {shown}); SAME=0 compares the times anyway")
finally:
    clean()
for binary in binaries:
    one = statistics.median(times[(binary, "0")])
    two = statistics.median(times[(binary, "0,1")])
    print(f"{binary}: 1 core {one * 1000:.1f} ms, 2 cores {two * 1000:.1f} ms, 2 ÷ 1 {one / two:.2f}× ({rounds} rounds)")
