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

# Benchmarks (release build): for now, the terminal frame with 100,000 messages
bench:
    cargo bench -p classchat --bench frame

# What CI checks: formatting, lints (warnings are errors) and the tests
check:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings
    cargo test --workspace
