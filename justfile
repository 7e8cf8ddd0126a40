# ClassChat tasks. `just` alone lists them.

# Arguments reach the programs as they were quoted: `just tui --server "[::1]:12345"`.
set positional-arguments

# Where `build` puts the programs.
bin := env("CARGO_TARGET_DIR", "target") / "release"

# List the recipes
default:
    @just --list

# Build the server and the client (release); every recipe that runs one builds both this one way
build:
    cargo build --release --workspace --bins

# Every recipe that runs a program depends on `build` and starts the binary it
# made. `cargo run -p` would resolve each package's dependency features on its
# own, so `just server` and then `just tui` would build much of the tree twice.

# Run the server on [::]:12345 (IPv6 and IPv4); extra arguments go to classchat-server
server *ARGS: build
    @exec "{{bin}}/classchat-server" "$@"

# Run the terminal client (default server localhost:12345); e.g. `just tui --user alice`
tui *ARGS: build
    @exec "{{bin}}/classchat" "$@"

# A local server and three clients (alice, bob, carol) side by side in tmux
demo:
    bash assets/demo.sh

# Run the client without a screen: slash commands on stdin, JSON events on stdout
pipe *ARGS: build
    @exec "{{bin}}/classchat" pipe "$@"

# Run every test in the workspace (cluster tests too), and the server's again against PostgreSQL (needs apt-get install postgresql nats-server)
test:
    cargo test --workspace --features classchat-server/cluster
    CLASSCHAT_TEST_STORE=postgres cargo test -p classchat-server --features cluster --tests

# Measure the performance targets on a release build and write the figures to docs/BENCHMARKS.md; `just bench quick`: small sizes, writes nothing
bench MODE="full":
    #!/usr/bin/env bash
    set -euo pipefail
    case "{{MODE}}" in full) runs=3 ;; quick) runs=1 ;; *) echo "just bench [full|quick]" >&2; exit 2 ;; esac
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true  # 10,000 connections need the descriptors
    frames="$(mktemp)"
    trap 'rm -f "$frames"' EXIT
    for _ in $(seq "$runs"); do cargo bench -p classchat --bench frame | tee -a "$frames"; done
    # the file relay runs the real client
    cargo build --release --workspace --bins
    cargo bench -p classchat-server --features cluster --bench load -- "{{MODE}}" --frame "$frames"

# Fuzz each cargo-fuzz target for SECS seconds (nightly), else run the property tests with many cases; e.g. `just fuzz 600 codec`
fuzz SECS="60" *TARGETS:
    bash assets/fuzz.sh {{SECS}} {{TARGETS}}

# What CI checks: formatting, lints (warnings are errors) and the tests
check: && test
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo clippy --workspace --all-targets --features classchat-server/cluster -- -D warnings
