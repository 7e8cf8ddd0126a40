#!/usr/bin/env bash
# `just demo`: a local server and three clients (alice, bob, carol) side by side
# in tmux, each with its own config and data directory under a temporary folder.
#
#   window "chat":   three panes, one client each; alice's opens on the
#                    screenshot at the top of the README (her talk with bob)
#   window "server": the server; Ctrl+C there restarts it (watch the clients
#                    reconnect by themselves), Ctrl+C twice quickly stops it
#
# Leave with `tmux kill-session -t classchat-demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v tmux >/dev/null || { echo "just demo needs tmux (apt install tmux)"; exit 1; }
# The one build every recipe in the justfile runs, so the demo compiles nothing
# that `just server` or `just tui` did not.
cargo build --release --workspace --bins

session=classchat-demo
port=${CLASSCHAT_DEMO_PORT:-12399}
# Loopback only: the README prints the demo's passwords, so nobody else may
# reach this server. (IPv4 alone: some containers have no IPv6 loopback.)
server_addr=127.0.0.1:$port
dir=$(mktemp -d "${TMPDIR:-/tmp}/classchat-demo.XXXXXX")
bin=${CARGO_TARGET_DIR:-$PWD/target}/release

tmux kill-session -t "$session" 2>/dev/null || true

server="while true; do '$bin/classchat-server' --listen '$server_addr' --data-dir '$dir/server' || true; \
echo; echo 'server stopped; restarting in 1 s (Ctrl+C again to quit)'; sleep 1 || break; done"

# Runs slash commands as $1 in pipe mode, which saves its login in $1's data
# directory for the terminal client to use. The password travels in the
# environment, never on a command line: `ps` shows every user's command lines,
# but a process's environment (/proc/PID/environ, mode 0400) only to its owner.
as() {
    local user=$1
    shift
    printf '%s\n' "$@" |
        XDG_CONFIG_HOME="$dir/$user/config" XDG_DATA_HOME="$dir/$user/data" \
            CLASSCHAT_PASSWORD="$user-demo" \
            "$bin/classchat" --server "$server_addr" --user "$user" pipe >/dev/null
}

# Takes delivery, as $1, of what waits for them. Pipe mode leaves once its
# commands are answered, maybe before the server has sent what waited; a
# second more is plenty for a server on the same machine.
catch_up() {
    XDG_CONFIG_HOME="$dir/$1/config" XDG_DATA_HOME="$dir/$1/data" \
        "$bin/classchat" --server "$server_addr" --user "$1" pipe --wait 1 </dev/null >/dev/null
}

# The terminal client as $1, logging in with the login `as` saved.
client() {
    echo "XDG_CONFIG_HOME='$dir/$1/config' XDG_DATA_HOME='$dir/$1/data' \
'$bin/classchat' --server '$server_addr' --user $1"
}

tmux new-session -d -s "$session" -n server -x "${COLUMNS:-240}" -y "${LINES:-50}" "$server"
# Give the server a moment to listen before the clients connect.
for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

# The README's screenshot, as a conversation. `/read` marks what the client has
# taken delivery of, so each reader catches up first. Everything is delivered
# before the screens start, so each opens its most recent conversation: alice's
# is bob, bob's is carol. Bob has not read alice's last message (✓✓ on her
# screen until Alt+2 in his pane opens it), and carol's news waits unread in
# alice's #cs101.
as bob
as carol
as alice '/create #cs101 bob carol' '/msg bob Hi Bob! Did you get the lab notes?'
catch_up bob
as bob '/read alice' '/msg alice Yes, thanks Alice. Reading them now.'
catch_up alice
as alice '/read bob' '/msg bob Thanks Bob, see you at the lab'
catch_up bob
as bob '/read alice'
as carol '/msg #cs101 Lab 3 is up: bring a laptop on Thursday.'
as alice '/msg bob Could you bring the adapter for the projector?'
as carol '/msg bob Are you coming to the lab?'
catch_up alice
catch_up bob

tmux new-window -t "$session" -n chat "$(client alice)"
tmux split-window -t "$session:chat" -h "$(client bob)"
tmux split-window -t "$session:chat" -h "$(client carol)"
tmux select-layout -t "$session:chat" even-horizontal
tmux select-pane -t "$session:chat.0"

echo "ClassChat demo: server on $server_addr (this machine only), data in $dir"
echo "Switch panes with Ctrl+B then an arrow key; Ctrl+B n/p switches to the server window."
if [ -t 0 ] && [ -z "${TMUX:-}" ]; then
    exec tmux attach -t "$session"
else
    echo "Attach with: tmux attach -t $session"
fi
