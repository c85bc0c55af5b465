#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of Neural's file parsers.
#
#   Scripts/fuzz.sh build                    # build all five fuzzers (release, -sanitize=fuzzer,address)
#   Scripts/fuzz.sh run <fuzzer> [seconds]   # fuzz one for `seconds` (default 600); fuzzers:
#                                            #   idx, idxgz, csv, npy, safetensors
#   Scripts/fuzz.sh replay <fuzzer> <files…> # run inputs once (e.g. a crash-* file)
#
# The fuzzers live in Fuzzing/ (a separate package depending on this one by path, so the normal
# build and CI never see them). Each parses every input with the in-memory API
# (MNIST.decodeImages/decodeLabels, CSVTable.decode + CSVDataset.load, NPY.decode,
# SafeTensors.decode + Checkpoint) and treats as a finding: a crash or trap, an ASan report, an
# input over 5 s (-timeout=5), memory over 2 GB (-rss_limit_mb=2048, also each malloc), or an
# error that does not name the file. Seeds (valid small files) come from Fuzzing/make_seeds.py
# and Fuzzing/seeds-extra/ (a checkpoint written at run time by `neural train --checkpoint`);
# the growing corpus is kept in Fuzzing/corpus/<fuzzer>/ and findings in Fuzzing/findings/
# (both ignored by git). A finding is fixed, then its input is added to
# Tests/NeuralTests/HostileFiles/fuzz-findings/ (with a row in its expected.tsv) so that
# HostileFileTests replays it.
#
# Each `run` prints libFuzzer's final line, e.g. "Done 4114311 runs in 601 second(s)", and the
# peak RSS ("stat::peak_rss_mb").
set -euo pipefail
cd "$(dirname "$0")/../Fuzzing"

# The executable's name for each fuzzer.
product() {
    case "$1" in
        idx) echo FuzzIDX ;; idxgz) echo FuzzIDXGzip ;; csv) echo FuzzCSV ;;
        npy) echo FuzzNPY ;; safetensors) echo FuzzSafeTensors ;;
        *) echo "unknown fuzzer '$1' (idx, idxgz, csv, npy, safetensors)" >&2; exit 2 ;;
    esac
}

# -Xclang-linker -fuse-ld=lld: gold crashes linking the instrumented binaries.
build_flags=(-c release -Xswiftc -sanitize=fuzzer,address -Xswiftc -Xclang-linker -Xswiftc -fuse-ld=lld)

case "${1:-}" in
    build)
        for p in FuzzIDX FuzzIDXGzip FuzzCSV FuzzNPY FuzzSafeTensors; do
            swift build "${build_flags[@]}" --product "$p"
        done
        ;;
    run)
        name="$2"; seconds="${3:-600}"; exe=".build/release/$(product "$name")"
        [ -x "$exe" ] || swift build "${build_flags[@]}" --product "$(product "$name")"
        python3 make_seeds.py seeds
        mkdir -p "corpus/$name" "findings/$name"
        if [ "$name" = safetensors ] && [ ! -f seeds-extra/safetensors/trained-checkpoint.safetensors ]; then
            # A real checkpoint as a seed, written now (weights are never committed).
            mkdir -p seeds-extra/safetensors
            (cd .. && swift build -c release --product neural >/dev/null && .build/release/neural train --epochs 1 --quiet \
                --plot "${TMPDIR:-/tmp}/neural-fuzz-seed.svg" --checkpoint Fuzzing/seeds-extra/safetensors/trained-checkpoint.safetensors) || true
        fi
        extra=(); [ -d "seeds-extra/$name" ] && extra=("seeds-extra/$name")
        "$exe" "corpus/$name" "seeds/$name" "${extra[@]}" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=5 \
            -print_final_stats=1 -artifact_prefix="findings/$name/" 2>&1 | tee "findings/$name.log" \
            | grep -E "^Done|stat::|ERROR|SUMMARY|Test unit written" || true
        ;;
    replay)
        name="$2"; shift 2; exe=".build/release/$(product "$name")"
        "$exe" -rss_limit_mb=2048 -timeout=5 "$@"
        ;;
    *)
        sed -n '2,20p' "$0"; exit 2 ;;
esac
