#!/usr/bin/env bash
# `just demo`: a local server and three clients (alice, bob, carol) side by side
# in tmux, each with its own config and data directory under a temporary folder.
#
#   window "chat":   three panes, one client each
#   window "server": the server; Ctrl+C there restarts it (watch the clients
#                    reconnect by themselves), Ctrl+C twice quickly stops it
#
# Leave with `tmux kill-session -t classchat-demo`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v tmux >/dev/null || { echo "just demo needs tmux (apt install tmux)"; exit 1; }
cargo build --release -p classchat-server -p classchat

session=classchat-demo
port=${CLASSCHAT_DEMO_PORT:-12399}
dir=$(mktemp -d "${TMPDIR:-/tmp}/classchat-demo.XXXXXX")
bin=$PWD/target/release

tmux kill-session -t "$session" 2>/dev/null || true

server="while true; do $bin/classchat-server --listen '[::]:$port' --data-dir '$dir/server' || true; \
echo; echo 'server stopped; restarting in 1 s (Ctrl+C again to quit)'; sleep 1 || break; done"
client() {
    echo "env XDG_CONFIG_HOME='$dir/$1/config' XDG_DATA_HOME='$dir/$1/data' \
$bin/classchat --server localhost:$port --user $1 --password $1-demo"
}

tmux new-session -d -s "$session" -n server -x "${COLUMNS:-240}" -y "${LINES:-50}" "$server"
# Give the server a moment to listen before the clients connect.
for _ in $(seq 1 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done
tmux new-window -t "$session" -n chat "$(client alice)"
tmux split-window -t "$session:chat" -h "$(client bob)"
tmux split-window -t "$session:chat" -h "$(client carol)"
tmux select-layout -t "$session:chat" even-horizontal
tmux select-pane -t "$session:chat.0"

echo "ClassChat demo: server on [::]:$port, data in $dir"
echo "Switch panes with Ctrl+B then an arrow key; Ctrl+B n/p switches to the server window."
if [ -t 0 ] && [ -z "${TMUX:-}" ]; then
    exec tmux attach -t "$session"
else
    echo "Attach with: tmux attach -t $session"
fi
