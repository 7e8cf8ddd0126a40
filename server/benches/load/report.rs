//! The figures: their targets, one `<figure> <value> <unit> target <target> <PASS|MISS>` line each (`(informational)` for a figure without one, the load average beside every time), and the generated part of docs/BENCHMARKS.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use anyhow::Context as _;

/// What a figure must reach, if anything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Goal {
    AtMost(f64),
    AtLeast(f64),
    /// No target: a time on its own, which moves with the machine (issue 17
    /// puts targets only on counts, memory and ratios to an in-run baseline).
    Info,
}

/// What a figure is, what it must reach and how it is measured.
#[derive(Debug)]
pub struct Spec {
    pub name: &'static str,
    pub what: &'static str,
    pub unit: &'static str,
    pub goal: Goal,
    /// A time or a ratio of times: it moves with whatever else the machine
    /// is doing, so the load average is given beside it.
    pub timed: bool,
    pub how: &'static str,
}

/// Every figure with its target, in the order they are printed.
pub const SPECS: &[Spec] = &[
    Spec {
        name: "idle_kib_per_conn",
        what: "memory per idle logged-in connection (at the full count)",
        unit: "KiB",
        goal: Goal::AtMost(2.0),
        timed: false,
        how: "The server starts on a database seeded with the accounts (each with a resume \
              token) and settles; its VmRSS is read. Every client connects, says hello, logs in \
              with its token and reads up to `synced`; after all are in and a second of quiet, \
              VmRSS is read again. The figure is the growth divided by the number of \
              connections: everything a logged-in idle connection costs the server process \
              (kernel socket buffers are not in RSS).",
    },
    Spec {
        name: "dm_cpu_us",
        what: "server CPU per direct message delivered, 64-byte text, SQLite",
        unit: "µs",
        goal: Goal::Info,
        timed: true,
        how: "Pairs of users, each sender sending its own receiver 64-byte messages with up to \
              256 unconfirmed (the reference client's window); receivers acknowledge as the \
              reference client does (when nothing more is waiting to be read, or every 256 \
              messages), so the load includes `stored`, delivery, `ack` and the `receipt` it \
              causes. Frames are serialized before the clock starts. The figure is the server's \
              utime+stime (/proc/<pid>/stat) over the round, until every connection has read \
              all its lines, divided by the messages delivered. A warm-up round (which also \
              creates the conversations) is not counted. A time, so without a target (it was \
              ≤ 2 µs): `dm_instr` is the figure for CPU per message; this one adds the kernel's \
              share (system calls, loopback TCP).",
    },
    Spec {
        name: "dm_instr",
        what: "server instructions per direct message, many in flight, SQLite (callgrind)",
        unit: "instr",
        goal: Goal::AtMost(13_000.0),
        timed: false,
        how: "The `dm_cpu_us` load (pairs, window 256, acknowledged as the reference client \
              does), with the server run under `valgrind --tool=callgrind`, which counts the \
              user-space instructions it executes: the same count on a busy or an idle machine. \
              Two runs with the same accounts, log-ins and warm-up round, one with twice the \
              measured messages of the other; the figure is the difference of their totals over \
              the extra messages, so start-up, log-ins, the warm-up and the stop cancel out. \
              Indexing the messages for search is counted apart (`search_index_instr`). \
              Stable to about 1% from run to run (3% for the memory store and one at a \
              time). Kernel time is not in it: see `dm_cpu_us`.",
    },
    Spec {
        name: "search_index_instr",
        what: "server instructions to index a direct message for search, besides `dm_instr`",
        unit: "instr",
        goal: Goal::AtMost(13_000.0),
        timed: false,
        how: "Measured in the `dm_instr` runs, each of which ends with one `search`: that has \
              the index (SQLite FTS5) take in every message stored so far, so both runs index \
              all their messages (the hub indexes in bulk, off each message's path: when idle, \
              or before a search). The figure is what the indexing function counted, inclusive \
              of the SQLite it called, the difference of the two runs over the extra messages; \
              `dm_instr` is the rest. Target: indexing a message costs no more than storing and \
              delivering it should.",
    },
    Spec {
        name: "dm_instr_memory_store",
        what: "the same with `--store memory`",
        unit: "instr",
        goal: Goal::AtMost(9_000.0),
        timed: false,
        how: "As `dm_instr`, with `--store memory`.",
    },
    Spec {
        name: "dm_instr_one_at_a_time",
        what: "server instructions per direct message sent one at a time (send → stored → \
               message → ack → receipt), SQLite",
        unit: "instr",
        goal: Goal::AtMost(30_000.0),
        timed: false,
        how: "One pair; each round sends a message, waits for it at the receiver, acknowledges \
              it and waits for the receipt, then rests 1 ms, so the server is idle before each: \
              the normal state of a class chat. Counted by callgrind as `dm_instr` is (two runs, \
              the difference over the extra rounds).",
    },
    Spec {
        name: "dm_syscalls_one_at_a_time",
        what: "server system calls per direct message sent one at a time, SQLite",
        unit: "calls",
        goal: Goal::AtMost(12.0),
        timed: false,
        how: "The `dm_instr_one_at_a_time` rounds with the server run under `strace -f -c`, \
              which counts every thread's system calls; two runs, the difference over the \
              extra rounds, as for the instruction counts. A round is the send, `stored`, the \
              `message`, the `ack` and the `receipt`, with the server idle before it.",
    },
    Spec {
        name: "store_instr",
        what: "the SQLite store alone per direct message, in commits as large as the load's \
               (callgrind)",
        unit: "instr",
        goal: Goal::Info,
        timed: false,
        how: "What `dm_instr` spends in the store, without a server: this binary, run again \
              under callgrind, calls the server's `SqliteStore::append` and `commit` as the hub \
              does, for the same 64-byte texts in 10 conversations, 1,000 to a commit (the \
              `dm_instr` load commits about 870 at a time), on the server's schema, pragmas and \
              VFS. Two runs, the difference over the extra messages. With \
              `dm_instr_memory_store` (the server without storage), it accounts for \
              `dm_instr`.",
    },
    Spec {
        name: "sqlite_keyed_floor_instr",
        what: "the least SQLite takes to keep a message as the contract needs it (by \
               conversation and number; by sender and client id), the same commits (callgrind)",
        unit: "instr",
        goal: Goal::Info,
        timed: false,
        how: "As `store_instr`, with the message written through plain prepared statements \
              to the store's own layout (since its schema 8): a table keyed by its row id \
              alone, the conversation and number packed into it, and one unique index on the \
              sender and the client's id, which finds a resend; WAL mode, \
              `synchronous=NORMAL`, SQLite's own VFS. The cheapest of the layouts tried that \
              answer history and resends (docs/BENCHMARKS.md): `dm_instr` cannot go below \
              `dm_instr_memory_store` plus this while SQLite keeps the messages.",
    },
    Spec {
        name: "sqlite_floor_instr",
        what: "SQLite's cheapest durable row: the same message appended to a table with no \
               index, the same commits (callgrind)",
        unit: "instr",
        goal: Goal::Info,
        timed: false,
        how: "As `store_instr`, with the message's fields appended through prepared statements \
              to a table keyed by its row id alone (no order by conversation, no index to find \
              a resent message by its id), in WAL mode with `synchronous=NORMAL`, SQLite's own \
              VFS. A store that keeps a message in SQLite cannot cost less, even one that gave \
              up finding messages by conversation or resends by id.",
    },
    Spec {
        name: "store_instr_one_at_a_time",
        what: "the SQLite store alone per message committed on its own (callgrind)",
        unit: "instr",
        goal: Goal::Info,
        timed: false,
        how: "As `store_instr`, one message to a commit, as in a `dm_instr_one_at_a_time` \
              round, and as many messages as its rounds.",
    },
    Spec {
        name: "sqlite_keyed_floor_instr_one_at_a_time",
        what: "the least SQLite takes to keep a message as the contract needs it, committed \
               on its own (callgrind)",
        unit: "instr",
        goal: Goal::Info,
        timed: false,
        how: "As `sqlite_keyed_floor_instr`, one message to a commit.",
    },
    Spec {
        name: "sqlite_floor_instr_one_at_a_time",
        what: "SQLite's cheapest durable row, committed on its own (callgrind)",
        unit: "instr",
        goal: Goal::Info,
        timed: false,
        how: "As `sqlite_floor_instr`, one message to a commit.",
    },
    Spec {
        name: "dm_cpu_us_memory_store",
        what: "the same with `--store memory`",
        unit: "µs",
        goal: Goal::Info,
        timed: true,
        how: "As `dm_cpu_us`, with the server started with `--store memory` (users log in \
              with a password, since nothing can be seeded into memory). Without a target (it \
              was ≤ 0.6 µs): `dm_instr_memory_store` has it.",
    },
    Spec {
        name: "fanout_cpu_us",
        what: "server CPU per delivery in a 100-member group",
        unit: "µs",
        goal: Goal::Info,
        timed: true,
        how: "100 members join one group (SQLite store); a few of them send 64-byte messages to \
              it (window 256 each) while all 100 read and acknowledge as the reference client \
              does. The figure is the server's CPU over the round divided by the deliveries \
              (messages × 99 other members). A time, so without a target (it was ≤ 0.3 µs): \
              `fanout_instr` has it.",
    },
    Spec {
        name: "fanout_instr",
        what: "server instructions per delivery in a 100-member group, SQLite (callgrind)",
        unit: "instr",
        goal: Goal::AtMost(700.0),
        timed: false,
        how: "The `fanout_cpu_us` load (a few members send to the group with a window of 256, \
              all 100 read and acknowledge as the reference client does) with the server under \
              callgrind, counted as `dm_instr` is: two runs with the same log-ins, group and \
              warm-up, one with twice the measured messages of the other, the difference over \
              the extra deliveries (messages × 99). So a delivery's share of receiving, storing \
              and confirming the message it delivers is in it, and each member's `ack` and the \
              `receipt`s it causes. How the hub's batches form moves one run by up to 5%, so a \
              full run measures it three times and reports the median.",
    },
    Spec {
        name: "latency_p50_ratio_v4",
        what: "one-way latency, idle, p50, over a minimal Tokio relay's, 127.0.0.1",
        unit: "×",
        goal: Goal::AtMost(1.5),
        timed: true,
        how: "Two users on an otherwise idle server (SQLite store, so each message is \
              committed before it is delivered). One message at a time: the time from writing \
              the `send` to reading the `message` at the receiver, both clocks the same \
              (one process). After each, the receiver acknowledges, the sender reads `stored` \
              and the receipt, and the line rests ~1 ms. In turn with each of these samples, \
              two connections of the same client time the same `send` line through the relay \
              baseline: a child process with a multi-threaded Tokio runtime like the server's, \
              which accepts two connections and copies every line one writes to the other (a \
              task per direction, `read_line` into a `BufReader`, `write_all`, `TCP_NODELAY` as \
              the server sets it); the receiver reads the line as it reads a `message`, writes \
              back the `ack` line, which the sender reads, and the line rests ~1 ms. The figure \
              is the server's p50 over the relay's, each from one run's samples \
              (hdrhistogram), median over runs; the log prints both in µs.",
    },
    Spec {
        name: "latency_p99_ratio_v4",
        what: "the same at p99",
        unit: "×",
        goal: Goal::AtMost(2.0),
        timed: true,
        how: "As `latency_p50_ratio_v4`, at p99.",
    },
    Spec {
        name: "latency_p50_ratio_v6",
        what: "one-way latency, idle, p50, over a minimal Tokio relay's, [::1]",
        unit: "×",
        goal: Goal::AtMost(1.5),
        timed: true,
        how: "As `latency_p50_ratio_v4`, the server and the relay listening on `[::1]:0`.",
    },
    Spec {
        name: "latency_p99_ratio_v6",
        what: "the same at p99",
        unit: "×",
        goal: Goal::AtMost(2.0),
        timed: true,
        how: "As `latency_p50_ratio_v6`, at p99.",
    },
    Spec {
        name: "latency_p50_ratio_v4_memory_store",
        what: "one-way latency, idle, p50, over the relay's, 127.0.0.1, with `--store memory`",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "As `latency_p50_ratio_v4`, with the server started with `--store memory` (users \
              log in with a password): the same path without a commit on the message's way, \
              so the difference from `latency_p50_ratio_v4` is what the durable store adds.",
    },
    Spec {
        name: "latency_p99_ratio_v4_memory_store",
        what: "the same at p99",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "As `latency_p99_ratio_v4`, with `--store memory`.",
    },
    Spec {
        name: "latency_p50_floor_ratio_v4",
        what: "the least a commit before delivery can take: a relay that keeps each line in \
               SQLite before passing it on, p50 over the relay's, 127.0.0.1",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "Measured right after `latency_p50_ratio_v4`, as it is, with a keeping relay in \
              the server's place: the same `send` lines through the relay baseline with one \
              thing more, each sample in turn with one of the relay's. The task that read a \
              line from the sender commits it to a SQLite database before it writes it on. One row per line, committed alone, in the \
              layout of `sqlite_keyed_floor_instr` (a table keyed by conversation and number \
              in one integer, a unique index on sender and client id), with every setting in \
              its favour: WAL, `synchronous=NORMAL` (the server's default), \
              `locking_mode=EXCLUSIVE`, SQLite's own checkpoints (a few samples of a run wait \
              for one, fewer than its slowest 1%); no parsing, no other task. A server \
              that answers `stored` only for a message it keeps, and delivers only what it \
              has kept, does at least this on a message's way, so while this ratio is above \
              a latency target, no server on SQLite meets that target on this machine. The \
              figure is its p50 over the relay's, each from one run's samples, median over \
              runs.",
    },
    Spec {
        name: "latency_p99_floor_ratio_v4",
        what: "the same at p99",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "As `latency_p50_floor_ratio_v4`, at p99.",
    },
    Spec {
        name: "latency_p50_floor_ratio_v6",
        what: "the keeping relay's p50 over the relay's, [::1]",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "As `latency_p50_floor_ratio_v4`, on `[::1]:0`, right after `latency_p50_ratio_v6`.",
    },
    Spec {
        name: "latency_p99_floor_ratio_v6",
        what: "the same at p99",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "As `latency_p50_floor_ratio_v6`, at p99.",
    },
    Spec {
        name: "latency_p99_us_v4",
        what: "the server's one-way latency, idle, p99, 127.0.0.1",
        unit: "µs",
        goal: Goal::Info,
        timed: true,
        how: "The server's p99 behind `latency_p99_ratio_v4`, in µs (the relay's is about this \
              over the ratio). A time, so without a target (it was ≤ 200 µs).",
    },
    Spec {
        name: "latency_p99_us_v6",
        what: "the same on [::1]",
        unit: "µs",
        goal: Goal::Info,
        timed: true,
        how: "As `latency_p99_us_v4`, behind `latency_p99_ratio_v6`.",
    },
    Spec {
        name: "drain_10k_ms",
        what: "reconnect with 10,000 queued messages: all delivered",
        unit: "ms",
        goal: Goal::Info,
        timed: true,
        how: "A user offline; another sends it 10,000 messages (all `stored`). The figure is the \
              time from the user's TCP connect, through hello, token login and the catch-up, \
              to `synced` with every message read by the client. A time, so without a target \
              (it was ≤ 1 s).",
    },
    Spec {
        name: "reconnect_10k_s",
        what: "10,000 clients log back in after a server restart",
        unit: "s",
        goal: Goal::Info,
        timed: true,
        how: "Right after the idle measurement the server is stopped (SIGTERM) and started \
              again on the same data. The clock starts when the new process is spawned (so its \
              start-up counts) and stops when the last client has read `synced`; each client \
              reconnects with its resume token, up to 512 logins in flight at once (clients \
              back off with jitter; the listen backlog is 4096). A time, so without a target \
              (it was ≤ 5 s).",
    },
    Spec {
        name: "file_relay_ratio",
        what: "file relay between real clients over loopback TCP's throughput",
        unit: "×",
        goal: Goal::AtLeast(0.5),
        timed: true,
        how: "`file_relay_mb_s` over the throughput of one loopback TCP connection measured in \
              the same run: right before each transfer, one task writes as many bytes as the \
              file has (256 MiB at least) into a connection on 127.0.0.1, 128 KiB a write, and \
              another task reads them, three times; the median of the three is that run's \
              baseline (the log prints them).",
    },
    Spec {
        name: "file_relay_mb_s",
        what: "file relay sender → server → receiver, real clients, to disk, SHA-256 on both ends",
        unit: "MB/s",
        goal: Goal::Info,
        timed: true,
        how: "Two release `classchat pipe` clients, each with a home of its own, log in to a \
              fresh server (SQLite store). alice types `/sendfile` for a file on disk (1 GiB \
              in full mode, pseudo-random bytes); bob types `/accept` as soon as the offer \
              shows. The figure is the file size (10^6 bytes per MB) over the time from \
              `/sendfile` to bob's `transfer` line saying `saved`. In that time alice's client \
              reads the file to hash it, offers it as a streaming offer (PROTOCOL.md §11.8) \
              and sends it on a bulk connection; the server hashes, writes and fsyncs it and \
              relays it as it arrives; bob's client downloads it on a bulk connection of its \
              own, writes it to disk, checks the SHA-256 and names it. The benchmark then \
              hashes the saved file again. A time, so without a target (it was ≥ 500 MB/s): \
              `file_relay_ratio` has it.",
    },
    Spec {
        name: "file_relay_protocol_mb_s",
        what: "the same relay spoken by the benchmark's protocol client, in memory",
        unit: "MB/s",
        goal: Goal::Info,
        timed: true,
        how: "As `file_relay_mb_s`, but both ends are this benchmark's protocol client on a \
              fresh server: the sender's hashing is done before the clock starts, nothing is \
              written to the clients' disks, and the receiver hashes in memory. From `offer` \
              to the answer to `received`: what the server alone allows.",
    },
    Spec {
        name: "sha256_mb_s",
        what: "SHA-256 on one core, as the clients and the server compute it",
        unit: "MB/s",
        goal: Goal::Info,
        timed: true,
        how: "Right after each run's loopback measurement, the benchmark hashes 256 MiB of the \
              file's content (at least the file's size) with the `sha2` crate the clients and \
              the server use, on one thread, and divides by the time it took. SHA-256 is \
              sequential: a stream's hashing cannot be spread over cores.",
    },
    Spec {
        name: "file_relay_sha256_bound_ratio",
        what: "the most `file_relay_ratio` can be while the file is hashed three times",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "`sha256_mb_s` × the cores three hashing passes could share (this machine's, \
              three at most) ÷ 3, over the same run's loopback TCP. Every byte of a relayed \
              file is hashed by the sender (its offer carries the digest), by the server (which \
              keeps and releases only a verified file) and by the receiver (which shows only a \
              verified file). With those passes spread perfectly over the cores and nothing \
              else to do, the relay could not beat this; below 0.5, `file_relay_ratio`'s \
              target is out of reach on the machine. The sender hashes before it offers, so \
              the real bound is lower still.",
    },
    Spec {
        name: "file_relay_server_rss_mib",
        what: "server memory growth during the real clients' transfer",
        unit: "MiB",
        goal: Goal::AtMost(2.0),
        timed: false,
        how: "The server's peak RSS is reset (/proc/<pid>/clear_refs 5) after the clients \
              logged in; the figure is VmHWM at bob's `saved` minus VmRSS before `/sendfile`.",
    },
    Spec {
        name: "login_rss_mib",
        what: "server memory after 300 password logins, 4 at a time",
        unit: "MiB",
        goal: Goal::AtMost(64.0),
        timed: false,
        how: "A fresh server (SQLite store) settles for half a second; then 300 password logins \
              with new names (each a sign-up, so one argon2id hash each), 4 in flight at once, \
              each on its own connection, closed after `synced`. The figure is the server's \
              VmRSS a second after the last: memory the hashing keeps, not only its peak.",
    },
    Spec {
        name: "login_ms_during_sign_up_flood",
        what: "another address's password login while one address floods sign-ups on 250 connections",
        unit: "ms",
        goal: Goal::Info,
        timed: true,
        how: "A fresh server (SQLite store, the sign-up limit raised with the other limits). \
              From 127.0.0.1, 250 connections each sign up a new name, reconnect and sign up \
              again, without pause. A second after all 250 have asked, a user at 127.0.0.2 \
              (its own address on loopback) logs in with a password 20 times, one after \
              another, 50 ms apart, each on a new connection; the time is from connect to \
              `synced`. The figure is the slowest of the 20. A time, so without a target (it \
              was ≤ 1 s).",
    },
    Spec {
        name: "flood_latency_ratio",
        what: "another pair's latency p99 while one user floods requests, over its idle p99",
        unit: "×",
        goal: Goal::AtMost(2.0),
        timed: true,
        how: "A fresh server (SQLite store, default limits for everything but messages). Two \
              users measure one-way latency as `latency_p99_us_v4` does, idle, then again while \
              a third user writes batches of 240 requests as fast as the server reads them \
              (`join` and `leave` of a group with a fourth user in it, `create` with that user \
              in `members`, `who`, `groups`, `history`), reading every answer. The figure is \
              the p99 during the flood divided by the p99 idle, both from the same run.",
    },
    Spec {
        name: "create_flood_rss_mib",
        what: "server memory growth while one user floods `create` with a victim in `members`",
        unit: "MiB",
        goal: Goal::AtMost(16.0),
        timed: false,
        how: "Right after the previous figure, on the same server: the third user writes \
              nothing but `create` (a new name each time, the fourth user in `members`) in \
              batches of 240, as fast as the server answers, for 40 s (5 s in quick mode). \
              The figure is the server's VmRSS after it minus before: what the caps and rate \
              limits let one user make the server keep.",
    },
    Spec {
        name: "cluster_cross_node_p99_ratio",
        what: "one-way latency across two cluster nodes, idle, p99, over the same on one node",
        unit: "×",
        goal: Goal::AtMost(2.0),
        timed: true,
        how: "Two nodes (`--nats`, `--node-id`) on a throwaway PostgreSQL (fsync off) and \
              nats-server on loopback. One sender on n1 writes, one message at a time with a \
              rest between, to a receiver on n1 and to one on n2 in turn, each message timed \
              from its write to its arrival (then acknowledged, and the receipt awaited). The \
              figure is the p99 across nodes over the p99 on one node, both from the same run: \
              what NATS and the receiving node's sequencer add, against what one node takes. \
              The log prints both in µs and their difference, which had the target before \
              (≤ 1 ms); 2× is the relay's p99 target.",
    },
    Spec {
        name: "cluster_cpu_ratio_two_nodes",
        what: "nodes' CPU per direct message with two nodes, half the pairs across them, over one node",
        unit: "×",
        goal: Goal::Info,
        timed: true,
        how: "The `dm_cpu_us` load (pairs, window 256, acknowledged as the reference client \
              does) on one cluster node, then on two with a quarter of the pairs on each node \
              and half split across them, each on a fresh database. The figure is the sum of \
              the nodes' utime+stime per message on two nodes over that on one; at 1.11× two \
              nodes carry 1.8× what one does. PostgreSQL's CPU per message (every `postgres` \
              process) is printed beside it. It counts the kernel's work too, but moves from \
              1.09× to 1.45× between runs of one build (how the nodes' batches form depends on \
              how busy the two cores are): the target is judged on \
              `cluster_instr_ratio_two_nodes`.",
    },
    Spec {
        name: "cluster_instr_ratio_two_nodes",
        what: "nodes' instructions per direct message with two nodes, half the pairs across them, over one node (callgrind)",
        unit: "×",
        goal: Goal::AtMost(1.11),
        timed: false,
        how: "The same load and layout as `cluster_cpu_ratio_two_nodes` with every node under \
              `valgrind --tool=callgrind`: on one node and on two, a run with n measured \
              messages per sender and one with 2n, the same log-ins and warm-up; each \
              configuration's figure is the difference of the nodes' summed instructions \
              (less password hashing) over the extra messages, and the figure is two nodes' \
              over one's, measured three times in a full run (once in a quick one) and \
              reported as the median: the batches form differently from run to run, which \
              moves one full-size run by up to 5% (1.06 to 1.14 for one build) and a \
              quick-size run far more (1.06 to 1.25). User space only: the system calls that \
              carry messages to and from NATS are not in it.",
    },
    Spec {
        name: "tui_frame_ms_100k",
        what: "TUI frame with a 100,000-message conversation",
        unit: "ms",
        goal: Goal::Info,
        timed: true,
        how: "`cargo bench -p classchat --bench frame` (tui-client/benches/frame.rs) draws 500 \
              frames into ratatui's TestBackend (120×40) at the bottom and scrolled to the \
              middle, and prints the worse median; the recipe runs it several times and this \
              is the median of those. A time, so without a target (it was ≤ 2 ms); its load is \
              the one when the load benchmark starts, right after the frame benchmark's runs.",
    },
];

/// The values each run produced, by figure, and the load average each timed
/// figure was measured at.
#[derive(Debug, Default)]
pub struct Results {
    runs: BTreeMap<&'static str, Vec<f64>>,
    loads: BTreeMap<&'static str, Vec<f64>>,
}

impl Results {
    /// Records a value taken just now: a timed figure's with the load average.
    pub fn add(&mut self, name: &'static str, value: f64) {
        self.add_at_load(name, value, load_now());
    }

    /// Records a value measured when the 1-minute load average was `load`.
    pub fn add_at_load(&mut self, name: &'static str, value: f64, load: Option<f64>) {
        self.runs.entry(name).or_default().push(value);
        let timed = SPECS.iter().any(|s| s.name == name && s.timed);
        if let Some(load) = load.filter(|_| timed) {
            self.loads.entry(name).or_default().push(load);
        }
    }

    pub fn median(&self, name: &str) -> Option<f64> {
        let mut v = self.runs.get(name)?.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let mid = v.len() / 2;
        Some(if v.len() % 2 == 1 {
            v[mid]
        } else {
            (v[mid - 1] + v[mid]) / 2.0
        })
    }

    pub fn runs(&self, name: &str) -> &[f64] {
        self.runs.get(name).map_or(&[], Vec::as_slice)
    }

    /// The load averages a timed figure was measured at: `1.3`, or `1.1–1.5`.
    pub fn load(&self, name: &str) -> Option<String> {
        let loads = self.loads.get(name).filter(|l| !l.is_empty())?;
        let low = number(loads.iter().copied().fold(f64::INFINITY, f64::min));
        let high = number(loads.iter().copied().fold(f64::NEG_INFINITY, f64::max));
        Some(if low == high {
            low
        } else {
            format!("{low}–{high}")
        })
    }
}

impl Spec {
    /// `PASS` or `MISS`; nothing for an informational figure.
    pub fn verdict(&self, value: f64) -> Option<&'static str> {
        let pass = match self.goal {
            Goal::AtMost(target) => value <= target,
            Goal::AtLeast(target) => value >= target,
            Goal::Info => return None,
        };
        Some(if pass { "PASS" } else { "MISS" })
    }

    /// The line the benchmark prints for this figure, with the load average
    /// it was measured at if it is a time.
    pub fn line(&self, value: f64, load: Option<&str>) -> String {
        let mut line = format!("{} {} {}", self.name, number(value), self.unit);
        match (self.goal, self.verdict(value)) {
            (Goal::AtMost(target) | Goal::AtLeast(target), Some(verdict)) => {
                let _ = write!(line, " target {} {} {verdict}", number(target), self.unit);
            }
            _ => line.push_str(" (informational)"),
        }
        if let Some(load) = load {
            let _ = write!(line, "; load {load}");
        }
        line
    }

    /// `≤ 2 µs`, `≥ 0.5 ×`; nothing for an informational figure.
    fn target_text(&self) -> Option<String> {
        let (sign, target) = match self.goal {
            Goal::AtMost(target) => ("≤", target),
            Goal::AtLeast(target) => ("≥", target),
            Goal::Info => return None,
        };
        Some(format!("{sign} {} {}", number(target), self.unit))
    }
}

/// The 1-, 5- and 15-minute load averages, as /proc/loadavg gives them.
pub fn load_averages() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// The 1-minute load average: how busy the machine was while a figure was
/// taken (the benchmark's own processes included).
pub fn load_now() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Three significant digits, without a trailing `.0`.
pub fn number(v: f64) -> String {
    let digits = if v.abs() >= 100.0 {
        0
    } else if v.abs() >= 10.0 {
        1
    } else if v.abs() >= 1.0 {
        2
    } else {
        3
    };
    let s = format!("{v:.digits$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        s
    }
}

/// Where the generated part of docs/BENCHMARKS.md starts and ends; text
/// outside the markers (the analysis) is kept.
const BEGIN: &str = "<!-- bench:begin: written by `just bench`; edit outside these markers -->";
const END: &str = "<!-- bench:end -->";

/// Facts about the run that go into the report.
#[derive(Debug)]
pub struct Context {
    pub sizes: String,
    pub runs: String,
    pub commands: Vec<String>,
    /// The machine's load averages around the run.
    pub load: String,
}

/// Writes the generated section into `path`, keeping everything around it.
pub fn write_markdown(path: &Path, results: &Results, ctx: &Context) -> anyhow::Result<()> {
    let section = markdown(results, ctx);
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => {
            // What followed the old end marker, its newline included, stays.
            let section = section.trim_end_matches('\n');
            format!("{}{section}{}", &old[..b], &old[e + END.len()..])
        }
        _ => format!(
            "# ClassChat benchmarks\n\nClassChat's performance targets and the figures \
             measured against them by `just bench` (server/benches/load, \
             tui-client/benches/frame.rs).\n\n{section}\n"
        ),
    };
    std::fs::write(path, new).with_context(|| format!("cannot write {}", path.display()))
}

fn markdown(results: &Results, ctx: &Context) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{BEGIN}");
    let _ = writeln!(s, "## Results\n");
    let _ = writeln!(
        s,
        "Measured {} with {}. Each value is the median of {}; every run's value is listed. \
         The load is the 1-minute load average when the figure's scenario ended (the \
         benchmark's own processes count in it), given for times and ratios of times only: \
         counts and memory do not move with the machine. A figure without a target is a time \
         on its own, for the reader; see [What reproduces](#what-reproduces).\n",
        today(),
        ctx.sizes,
        ctx.runs
    );
    let _ = writeln!(s, "| figure | what | median | runs | target | | load |");
    let _ = writeln!(s, "|---|---|---|---|---|---|---|");
    for spec in SPECS {
        let (value, verdict) = match results.median(spec.name) {
            Some(v) => (
                format!("{} {}", number(v), spec.unit),
                spec.verdict(v)
                    .map_or("informational".to_owned(), |v| format!("**{v}**")),
            ),
            None => ("not measured".to_owned(), "—".to_owned()),
        };
        let runs: Vec<String> = results.runs(spec.name).iter().map(|&v| number(v)).collect();
        let _ = writeln!(
            s,
            "| `{}` | {} | {value} | {} | {} | {verdict} | {} |",
            spec.name,
            spec.what,
            runs.join(", "),
            spec.target_text().unwrap_or_else(|| "—".to_owned()),
            results.load(spec.name).unwrap_or_else(|| "—".to_owned())
        );
    }
    let _ = writeln!(s, "\n### Machine\n");
    for line in machine() {
        let _ = writeln!(s, "- {line}");
    }
    let _ = writeln!(s, "- load average (1, 5, 15 min): {}", ctx.load);
    let _ = writeln!(s, "\n### Commands\n\n```sh");
    for c in &ctx.commands {
        let _ = writeln!(s, "{c}");
    }
    let _ = writeln!(s, "```\n\n### How each figure is measured\n");
    let _ = writeln!(
        s,
        "The server is the release `classchat-server` binary, started by the harness as a child \
         process on loopback with a temporary `--data-dir`, `--rate 1000000 --burst 1000000` (the \
         per-user rate limit would otherwise be what is measured), the connection caps and the \
         per-address sign-up allowance raised. \
         The load generator (server/benches/load) is Tokio, in the same 2-core machine; CPU and \
         memory figures are the server process's own, read from /proc. The ratios' baselines \
         are measured by the same harness in the same run, their samples or runs in turn with \
         the server's so that whatever else the machine does hits both: a minimal Tokio line \
         relay (server/benches/load/relay.rs, the benchmark's own binary run again as a child \
         process) for latency, loopback TCP for throughput.\n"
    );
    for spec in SPECS {
        let _ = writeln!(s, "- **`{}`**: {}", spec.name, spec.how);
    }
    let _ = writeln!(s, "{END}");
    s
}

fn today() -> String {
    let now = classchat_common::Timestamp::now().to_string();
    // "2026-05-01T10:15:00.123Z" → "2026-05-01 10:15 UTC"
    match (now.get(..10), now.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => now,
    }
}

/// The machine, as /proc and the toolchain describe it.
fn machine() -> Vec<String> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".to_owned(), |(_, m)| m.trim().to_owned());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .unwrap_or_default();
    vec![
        format!("CPU: {model}, {cores} cores (`nproc`)"),
        format!("memory: {:.1} GiB", mem_kib as f64 / (1 << 20) as f64),
        format!("kernel: Linux {}", kernel.trim()),
        format!("toolchain: {}", rustc.trim()),
        "loopback TCP; server and load generator share the cores".to_owned(),
    ]
}
