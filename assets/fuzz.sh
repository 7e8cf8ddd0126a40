#!/usr/bin/env bash
# Fuzzes the protocol and the client's text handling: each cargo-fuzz target for
# SECS seconds (default 60) when a nightly toolchain is installed, else the
# property tests with many cases. Usage: assets/fuzz.sh [SECS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(codec client_message server_message names sanitise)
fi

if cargo +nightly --version >/dev/null 2>&1; then
    if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
        echo "== installing cargo-fuzz"
        cargo install cargo-fuzz --locked
    fi
    for target in "${targets[@]}"; do
        corpus="fuzz/corpus/$target"
        mkdir -p "$corpus"
        seeds=()
        case "$target" in
            codec | client_message | server_message) seeds=(fuzz/seeds/protocol) ;;
        esac
        echo "== fuzzing $target for ${secs}s (crashes land in fuzz/artifacts/$target)"
        cargo +nightly fuzz run "$target" "$corpus" "${seeds[@]}" -- \
            -max_total_time="$secs" -dict=fuzz/protocol.dict -print_final_stats=1
    done
else
    # Roughly SECS per target in all; the every-byte and screen-level tests are slower.
    cases=$((secs * 300))
    echo "== no nightly toolchain: property tests with PROPTEST_CASES=$cases"
    PROPTEST_CASES=$cases cargo test -p classchat-common --lib proptests -- --skip every_byte
    PROPTEST_CASES=$((cases / 20)) cargo test -p classchat-common --lib every_byte
    PROPTEST_CASES=$((cases / 10)) cargo test -p classchat --lib -- \
        text::proptests tracker::proptests a_message_marker_never_moves_backwards_whatever
fi
