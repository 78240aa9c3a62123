#!/usr/bin/env bash
# Ferry's benchmark harness: builds in release, generates corpora with the WDT sandbox's generator,
# and measures in one invocation:
#   - transform throughput (MiB/s of source JSON, documents/s) and peak RSS, on one core and on both,
#     against a plain Python script with the standard json module (Benchmarks/baseline_transform.py),
#     whose payloads are checked byte-identical to Ferry's;
#   - load documents/s against the Kingdee sandbox with 20 ms latency, against the bound
#     batch_size × concurrency ÷ latency and a naive one-document-per-request client;
#   - extract requests/s against the WDT sandbox's rate limit;
#   - JSON parse throughput of Ferry's reader and, when libsimdjson-dev is installed, of simdjson.
# Prints a Markdown report (medians of FERRY_BENCH_RUNS runs; three times as many for corpora under
# 100 MiB, whose runs are short enough for one slow run in three to move a median) for BENCHMARKS.md.
#
#   Scripts/bench.sh                          # sizes 10 and 100 MiB, 3 runs each (10 MiB: 9)
#   FERRY_BENCH_SIZES="10 100 1024" FERRY_BENCH_RUNS=5 Scripts/bench.sh
#   FERRY_BENCH_SECTIONS="transform" Scripts/bench.sh   # only some of: transform parse load extract
#   FERRY_BENCH_LINK=dynamic Scripts/bench.sh           # measure the plain `swift build -c release` binary
#   FERRY_BENCH_BIN=.build/release Scripts/bench.sh     # measure ferry and ferry-bench as built there, no build
# It measures the binary one deploys: `swift build -c release --static-swift-stdlib` (README, *Deploying*);
# the Swift runtime and Foundation linked in start ~4 ms sooner and run ~5% faster than as shared libraries.
set -euo pipefail
# FERRY_BENCH_BIN may be relative to where bench.sh was started.
if [ -n "${FERRY_BENCH_BIN:-}" ]; then
    given_bin=$FERRY_BENCH_BIN
    FERRY_BENCH_BIN=$(cd "$given_bin" 2>/dev/null && pwd) || { echo "FERRY_BENCH_BIN: no directory $given_bin" >&2; exit 2; }
fi
cd "$(dirname "$0")/.."

sizes=${FERRY_BENCH_SIZES:-"10 100"}
runs=${FERRY_BENCH_RUNS:-3}
sections=${FERRY_BENCH_SECTIONS:-"transform parse load extract"}
wants() { [[ " $sections " == *" $1 "* ]]; }
work=${FERRY_BENCH_DIR:-$(mktemp -d /tmp/ferry-bench.XXXXXX)}
# Transform outputs go to tmpfs when there is one: the benchmark measures Ferry and the baseline, not the
# disk (on this project's VMs, ext4 inode allocation after deleting tens of thousands of files between
# runs costs more than the whole transform; see BENCHMARKS.md).
if [ -z "${FERRY_BENCH_OUT:-}" ] && [ -d /dev/shm ]; then out_root=$(mktemp -d /dev/shm/ferry-bench-out.XXXXXX); else out_root=${FERRY_BENCH_OUT:-$work}; fi
server_pid=""
# On every exit, a failed run's too: the outputs go, the corpora stay when FERRY_BENCH_DIR names them,
# and a sandbox server started for the load section is stopped.
cleanup() {
    [ -z "$server_pid" ] || { kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; } || true
    rm -rf "$out_root/out1" "$out_root/out2" "$out_root/outp"
    [ -n "${FERRY_BENCH_OUT:-}" ] || [ "$out_root" = "$work" ] || rm -rf "$out_root"
    [ -n "${FERRY_BENCH_DIR:-}" ] || rm -rf "$work"
}
trap cleanup EXIT
log() { printf '==> %s\n' "$*" >&2; }

# What the harness runs besides Ferry, and where it comes from when missing: without GNU time or
# taskset every figure would be wrong, not absent.
need() { command -v "$1" >/dev/null 2>&1 || { echo "bench.sh needs $1: $2" >&2; exit 2; }; }
[ -x /usr/bin/time ] || { echo "bench.sh needs GNU time as /usr/bin/time: apt-get install -y time" >&2; exit 2; }
need taskset "apt-get install -y util-linux"
need python3 "apt-get install -y python3"
need cmp "apt-get install -y diffutils"

link=${FERRY_BENCH_LINK:-static}
case $link in
    static) build_flags=(-c release --static-swift-stdlib) ;;
    dynamic) build_flags=(-c release) ;;
    *) echo "FERRY_BENCH_LINK is static or dynamic, not '$link'" >&2; exit 2 ;;
esac
if [ -n "${FERRY_BENCH_BIN:-}" ]; then
    # Binaries built elsewhere (CI's release build, or a build kept for a comparison): measured as they are.
    bin=$FERRY_BENCH_BIN
    for b in ferry ferry-bench; do
        [ -x "$bin/$b" ] || { echo "FERRY_BENCH_BIN: no executable $bin/$b (swift build -c release builds both)" >&2; exit 2; }
    done
else
    need swift "https://www.swift.org/install"
    log "release build ($link)"
    swift build "${build_flags[@]}" --product ferry >&2
    swift build "${build_flags[@]}" --product ferry-bench >&2
    bin=$(swift build "${build_flags[@]}" --show-bin-path)
fi

# median: the median of the numbers on stdin, one per line; anything that is not a number is ignored.
median() { grep -E '^[0-9]+([.][0-9]+)?$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

# time_cmd OUTFILE STATUSES CMD…: runs CMD, appends "seconds maxrss_kib" to OUTFILE, and stops the
# benchmark when CMD exits with a status not in STATUSES ("0 1" for ferry transform, which exits 1 when
# it rejects documents, as the corpus makes it do): a crashed or refused run must not become a figure.
# GNU time exits with CMD's status (128 + N for signal N) and writes a "Command exited with non-zero
# status N" line first when CMD fails; only the last line holds the figures.
# The seconds come from the nanosecond clock around the command (GNU time's %e has 10 ms steps, a tenth
# of a 10 MiB run); GNU time gives the peak RSS. CMD's output goes to /dev/null, as in every figure so far.
time_cmd() {
    local out=$1 allowed=$2; shift 2
    local t; t=$(mktemp)
    local start end status=0
    start=$(date +%s%N)
    /usr/bin/time -f "%M" -o "$t" "$@" >/dev/null 2>&1 || status=$?
    end=$(date +%s%N)
    if [[ " $allowed " != *" $status "* ]]; then
        echo "bench.sh: exit status $status (expected ${allowed// / or }) from: $*" >&2
        echo "bench.sh: run that command to see why; no figure was recorded" >&2
        rm -f "$t"
        exit 1
    fi
    echo "$(awk -v s="$start" -v e="$end" 'BEGIN {printf "%.4f", (e - s) / 1e9}') $(tail -n 1 "$t")" >> "$out"
    rm -f "$t"
}

echo "# Ferry benchmark run"
echo
echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "- machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(swift --version 2>/dev/null | head -1)"
echo "- python: $(python3 --version 2>&1)"
if [ -n "${FERRY_BENCH_BIN:-}" ]; then
    echo "- command: \`FERRY_BENCH_SIZES=\"$sizes\" FERRY_BENCH_RUNS=$runs FERRY_BENCH_SECTIONS=\"$sections\" FERRY_BENCH_BIN=$bin Scripts/bench.sh\`"
    echo "- build: not made by bench.sh; the binaries in $bin as they were"
else
    echo "- command: \`FERRY_BENCH_SIZES=\"$sizes\" FERRY_BENCH_RUNS=$runs FERRY_BENCH_SECTIONS=\"$sections\" FERRY_BENCH_LINK=$link Scripts/bench.sh\`"
    echo "- build: \`swift build ${build_flags[*]}\`"
fi
echo
if wants transform; then
echo "## Transform"
echo
echo "| corpus | documents | Ferry 1 core | Ferry 2 cores | 2 ÷ 1 core | Python (1 core) | Ferry 1 core ÷ Python | peak RSS (Ferry, 2 cores) |"
echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for size in $sizes; do
    corpus=$work/corpus-$size
    if [ ! -d "$corpus" ]; then
        log "corpus $size MiB"
        "$bin/ferry-bench" corpus --mib "$size" --out "$corpus" >&2
    fi
    bytes=$(du -sb "$corpus" | cut -f1)
    mib=$(awk -v b="$bytes" 'BEGIN {printf "%.1f", b/1048576}')
    rm -f "$work"/t1 "$work"/t2 "$work"/tp
    repetitions=$runs
    [ "$size" -lt 100 ] && repetitions=$((runs * 3))
    for i in $(seq "$repetitions"); do
        rm -rf "$out_root/out1" "$out_root/out2" "$out_root/outp"
        log "size $size run $i: ferry (1 core)"
        time_cmd "$work/t1" "0 1" taskset -c 0 "$bin/ferry" transform --input "$corpus" --output "$out_root/out1" --lookups Templates/lookups
        log "size $size run $i: ferry (2 cores)"
        time_cmd "$work/t2" "0 1" "$bin/ferry" transform --input "$corpus" --output "$out_root/out2" --lookups Templates/lookups
        log "size $size run $i: python (1 core)"
        time_cmd "$work/tp" 0 taskset -c 0 python3 Benchmarks/baseline_transform.py "$corpus" "$out_root/outp" Templates/lookups
    done
    # The outputs must agree: one core's and two cores' byte for byte (payloads, rejects, manifest), every
    # payload Ferry wrote byte-identical to Python's, and the counts match.
    diff -rq "$out_root/out1" "$out_root/out2" >&2 || { echo "Ferry's outputs on one core and on two differ" >&2; exit 1; }
    documents=$(grep -m1 -o '"documents": [0-9]*' "$out_root/out2/manifest.json" | grep -o '[0-9]*$')
    ferry_payloads=$(find "$out_root/out2" -name '*.json' ! -name '*.reject.json' ! -name manifest.json | wc -l)
    python_payloads=$(find "$out_root/outp" -name '*.json' ! -name '*.reject.json' | wc -l)
    [ "$ferry_payloads" -eq "$python_payloads" ] || { echo "payload counts differ: ferry $ferry_payloads, python $python_payloads" >&2; exit 1; }
    (cd "$out_root/out2" && find . -name '*.json' ! -name '*.reject.json' ! -name manifest.json -print0 \
        | xargs -0 -n 200 sh -c 'for f; do cmp -s "$f" "'"$out_root"'/outp/$f" || { echo "differs: $f" >&2; exit 1; }; done' sh) \
        || { echo "Ferry and the Python baseline disagree" >&2; exit 1; }
    s1=$(cut -d' ' -f1 "$work/t1" | median); s2=$(cut -d' ' -f1 "$work/t2" | median); sp=$(cut -d' ' -f1 "$work/tp" | median)
    rss=$(cut -d' ' -f2 "$work/t2" | median)
    awk -v mib="$mib" -v docs="$documents" -v s1="$s1" -v s2="$s2" -v sp="$sp" -v rss="$rss" 'BEGIN {
        printf "| %s MiB | %d | %.1f MiB/s, %.0f docs/s | %.1f MiB/s, %.0f docs/s | %.2f× | %.1f MiB/s | %.2f× | %.0f MiB |\n",
            mib, docs, mib/s1, docs/s1, mib/s2, docs/s2, s1/s2, mib/sp, sp/s1, rss/1024 }'
done
echo
echo "Payloads of every corpus were checked byte-identical between Ferry and the Python baseline."
echo
fi

if wants parse; then
echo "## JSON parse only (design (a) Ferry's JSONReader against (b) simdjson)"
echo
# The largest corpus that is at most 100 MiB; files read into memory first, one core, medians.
parse_corpus=""
for size in $sizes; do [ "$size" -le 100 ] && parse_corpus=$work/corpus-$size; done
if [ -n "$parse_corpus" ] && [ -d "$parse_corpus" ]; then
    # Assigned first, so that a failed parse stops the benchmark (set -e) instead of printing an empty figure.
    parsed=$(taskset -c 0 "$bin/ferry-bench" parse --dir "$parse_corpus" --repetitions 5 | grep '^median' | sed 's/^median over [0-9]*: //')
    echo "- Ferry JSONReader: $parsed"
    if [ -f /usr/include/simdjson.h ] && g++ -O2 -std=c++17 Benchmarks/simdjson_parse.cpp -lsimdjson -o "$work/simdjson_parse" 2>/dev/null; then
        parsed=$(taskset -c 0 "$work/simdjson_parse" "$parse_corpus" 5 | grep '^median' | sed 's/^median over [0-9]*: //')
        echo "- simdjson: $parsed"
    else
        echo "- simdjson: not measured (install libsimdjson-dev to include it)"
    fi
else
    echo "- not measured (needs a corpus of at most 100 MiB in FERRY_BENCH_SIZES)"
fi
echo

fi

if wants load; then
echo "## Load (Kingdee sandbox, 20 ms latency per request)"
echo
# load_row LABEL BATCH CONCURRENCY [env…]: medians of $runs runs of 20,000 payloads (a long enough run that
# starting up and the last, partly filled round of batches weigh little, as in a real backlog).
load_row() {
    local label=$1 batch=$2 conc=$3; shift 3
    rm -f "$work/load"
    for i in $(seq "$runs"); do
        env "$@" "$bin/ferry-bench" load --documents 20000 --latency-ms 20 --batch-size "$batch" --concurrency "$conc" \
            --naive-documents 100 ${server_url:+--server-url "$server_url"} $keep_files >> "$work/load"
    done
    local rate naive bound
    rate=$(grep -o '= [0-9.]* docs/s; bound' "$work/load" | grep -o '[0-9.]*' | median)
    naive=$(grep -o 'sequential) = [0-9.]*' "$work/load" | grep -o '[0-9.]*$' | median)
    bound=$(awk -v b="$batch" -v c="$conc" 'BEGIN {print b*c/0.020}')
    awk -v l="$label" -v b="$batch" -v c="$conc" -v r="$rate" -v bd="$bound" -v n="$naive" 'BEGIN {
        printf "| %s | %d × %d | %.0f | %.0f | %.0f%% | %.1f |\n", l, b, c, bd, r, 100*r/bd, n }'
}
echo "| sandbox, payloads and journal on | batch_size × concurrency | bound (docs/s) | Ferry (docs/s) | of the bound | naive, 1 per request (docs/s) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
shm=/dev/shm
[ -d "$shm" ] || shm=$work
server_url=""
# On disk, runs keep their files until the section ends, after a pause of dirty_expire (30 s): on ext4,
# creating files in the ~30 s after tens of thousands were deleted is several times slower (the inode
# allocator skips recently deleted inodes), and back-to-back runs measured 35–79% for the same code.
mkdir -p "$work/load-disk"
sleep "${FERRY_BENCH_DISK_PAUSE:-35}"
keep_files="--keep-files"
load_row "same process, disk ($work)" 50 4 TMPDIR="$work/load-disk"
keep_files=""
load_row "same process, tmpfs" 50 4 TMPDIR="$shm"
load_row "same process, tmpfs" 50 2 TMPDIR="$shm"
load_row "same process, tmpfs" 50 1 TMPDIR="$shm"
load_row "same process, tmpfs" 10 4 TMPDIR="$shm"
# The sandbox in a process of its own, as a real Kingdee would be (same machine, same two cores).
"$bin/ferry-bench" kingdee-server --latency-ms 20 > "$work/server-url" &
server_pid=$!
for _ in $(seq 50); do [ -s "$work/server-url" ] && break; sleep 0.1; done
server_url=$(head -1 "$work/server-url")
load_row "own process, tmpfs" 50 4 TMPDIR="$shm"
kill "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
server_pid=""
server_url=""
rm -rf "$work/load-disk"
echo
fi

if wants extract; then
echo "## Extract (WDT sandbox with a rate limit)"
echo
for r in 5 20; do
    rm -f "$work/extract"
    for i in $(seq "$runs"); do "$bin/ferry-bench" extract --rate "$r" --orders 3000 >> "$work/extract"; done
    got=$(grep -o '= [0-9.]* requests/s' "$work/extract" | grep -o '[0-9.]*' | median)
    violations=$(grep -o 'sandbox: [0-9]*' "$work/extract" | grep -o '[0-9]*$' | sort -n | tail -1)
    echo "- limit $r requests/s: $got requests/s (median; $(awk -v g="$got" -v r="$r" 'BEGIN {printf "%.1f%%", 100*g/r}') of the limit); most rate violations seen by the sandbox in a run: $violations"
done
fi
