# ClassChat tasks. `just` alone lists them.

# List the recipes
default:
    @just --list

# Run the server on [::]:12345 (IPv6 and IPv4); extra arguments go to classchat-server
server *ARGS:
    cargo run --release -p classchat-server -- {{ARGS}}

# Run the terminal client (default server localhost:12345); e.g. `just tui --user alice`
tui *ARGS:
    cargo run --release -p classchat -- {{ARGS}}

# A local server and three clients (alice, bob, carol) side by side in tmux
demo:
    bash assets/demo.sh

# Run the client without a screen: slash commands on stdin, JSON events on stdout
pipe *ARGS:
    cargo run --release -p classchat -- {{ARGS}} pipe

# Run every test in the workspace
test:
    cargo test --workspace

# Measure BRIEF §5 on a release build and write docs/BENCHMARKS.md; `just bench quick`: small sizes, writes nothing
bench MODE="full":
    #!/usr/bin/env bash
    set -euo pipefail
    case "{{MODE}}" in full) runs=3 ;; quick) runs=1 ;; *) echo "just bench [full|quick]" >&2; exit 2 ;; esac
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 10,000 connections need the descriptors
    frames="$(mktemp)"
    trap 'rm -f "$frames"' EXIT
    for _ in $(seq "$runs"); do cargo bench -p classchat --bench frame | tee -a "$frames"; done
    cargo bench -p classchat-server --bench load -- "{{MODE}}" --frame "$frames"

# Fuzz each cargo-fuzz target for SECS seconds (nightly), else run the property tests with many cases; e.g. `just fuzz 600 codec`
fuzz SECS="60" *TARGETS:
    bash assets/fuzz.sh {{SECS}} {{TARGETS}}

# What CI checks: formatting, lints (warnings are errors) and the tests
check:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
