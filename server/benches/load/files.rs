//! `file_relay_ratio`, `file_relay_mb_s` and `file_relay_server_rss_mib`: one file sent by the real `classchat` client to another, relayed by the server as it arrives, written to disk and SHA-256 checked, against loopback TCP measured right before; `file_relay_protocol_mb_s`: the same relay spoken by the benchmark's protocol client.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use std::net::SocketAddr;

use classchat_common::{ClientMessage, OfferId};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::client::{Conn, Peek};
use crate::loopback;
use crate::pipes::Pipe;
use crate::seed;
use crate::server::{Profile, ServerProcess, StoreKind};
use crate::traffic;

/// Bytes per write of the sender (the size of the file's repeating pieces).
const CHUNK: usize = classchat_common::limits::FILE_CHUNK_BYTES;

/// What the receiver reads at a time from its bulk connection.
const BULK_BUFFER: usize = 256 * 1024;

/// Distinct pieces the file cycles through, so its bytes need not be made
/// during the transfer.
const PATTERNS: usize = 16;

/// A file of `size` pseudo-random bytes, chunk `i` being pattern `i % 16`.
struct Content {
    size: u64,
    raw: Vec<Vec<u8>>,
    sha256: String,
}

impl Content {
    fn new(size: u64) -> Self {
        let raw: Vec<Vec<u8>> = (0..PATTERNS as u64)
            .map(|p| {
                (0..CHUNK as u64 / 8)
                    .flat_map(|w| splitmix(p << 32 | w).to_le_bytes())
                    .collect()
            })
            .collect();
        let mut content = Self {
            size,
            raw,
            sha256: String::new(),
        };
        let mut hasher = Sha256::new();
        for i in 0..content.chunks() {
            hasher.update(content.bytes(i));
        }
        content.sha256 = hex(&hasher.finalize());
        content
    }

    fn chunks(&self) -> u64 {
        self.size.div_ceil(CHUNK as u64)
    }

    fn bytes(&self, i: u64) -> &[u8] {
        let len = (self.size - i * CHUNK as u64).min(CHUNK as u64) as usize;
        &self.raw[(i % PATTERNS as u64) as usize][..len]
    }
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Loopback measurements before each transfer; their median is its baseline.
const LOOPBACK_TRIES: usize = 3;

/// Bytes each loopback measurement carries at least: a quick run's 16 MiB
/// take 5 ms, too short to say how fast loopback is.
const LOOPBACK_MIN_BYTES: u64 = 256 << 20;

/// One value per run of each figure.
#[derive(Debug, Default)]
pub struct FileRelay {
    /// The real clients' relay MB/s over loopback TCP's.
    pub ratio: Vec<f64>,
    /// MB/s from `/sendfile` to the receiving client's `saved`.
    pub mb_s: Vec<f64>,
    /// The server's memory growth in MiB during the real clients' relay.
    pub rss_mib: Vec<f64>,
    /// MB/s of the same relay spoken by this benchmark's protocol client.
    pub protocol_mb_s: Vec<f64>,
    /// MB/s of SHA-256 on one core, measured beside each run's loopback.
    pub sha256_mb_s: Vec<f64>,
    /// The most `ratio` could be with the relay's three SHA-256 passes
    /// spread perfectly over this machine's cores, over loopback TCP.
    pub sha256_bound_ratio: Vec<f64>,
}

pub async fn run(size: u64, runs: usize, perf: Option<(&Path, &str)>) -> anyhow::Result<FileRelay> {
    let content = Content::new(size);
    let dir = TempDir::new()?;
    let names = seed::names("f", 2);
    let accounts = seed::seed(dir.path(), &names).await?;
    let file = dir.path().join("lecture.bin");
    write_file(&file, &content)?;

    let mut figures = FileRelay::default();
    for run in 0..runs {
        let mut loopback = Vec::with_capacity(LOOPBACK_TRIES);
        for _ in 0..LOOPBACK_TRIES {
            loopback.push(loopback::mb_s(size.max(LOOPBACK_MIN_BYTES)).await?);
        }
        loopback.sort_by(f64::total_cmp);
        let baseline = loopback[LOOPBACK_TRIES / 2];
        let tries: Vec<String> = loopback.iter().map(|v| format!("{v:.0}")).collect();
        eprintln!(
            "  run {}: loopback TCP {} MB/s, median {baseline:.0}",
            run + 1,
            tries.join(", ")
        );
        let sha256 = sha256_mb_s(&content, size.max(LOOPBACK_MIN_BYTES));
        let bound = sha256 * HASHING_CORES.min(cores()) / HASHING_PASSES / baseline;
        eprintln!(
            "    SHA-256 on one core {sha256:.0} MB/s: three passes on {} cores allow {bound:.2}× loopback at most",
            cores()
        );
        figures.sha256_mb_s.push(sha256);
        figures.sha256_bound_ratio.push(bound);
        let protocol = by_protocol(dir.path(), &accounts, &names, &content, run, perf).await?;
        figures.protocol_mb_s.push(protocol);
        let (rate, mib) = by_clients(dir.path(), &names, &file, &content).await?;
        eprintln!("    the clients' relay: {:.2}× loopback", rate / baseline);
        figures.ratio.push(rate / baseline);
        figures.mb_s.push(rate);
        figures.rss_mib.push(mib);
    }
    Ok(figures)
}

/// SHA-256 passes over every byte of a relayed file: the sender's (the
/// digest its offer carries), the server's (it keeps no file it has not
/// verified) and the receiver's (none is shown as received unverified).
const HASHING_PASSES: f64 = 3.0;

/// Cores those passes could share: one each at most, since a pass is
/// sequential (each block's input is the one before's output).
const HASHING_CORES: f64 = 3.0;

fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1.0, |n| n.get() as f64)
}

/// MB/s of SHA-256 over at least `bytes` of the file's content, on this
/// thread, with the implementation the clients and the server use. It
/// blocks the runtime's thread for a fraction of a second, while nothing
/// else of the benchmark runs.
fn sha256_mb_s(content: &Content, bytes: u64) -> f64 {
    let mut hasher = Sha256::new();
    let start = Instant::now();
    let mut hashed = 0u64;
    for piece in content.raw.iter().cycle() {
        if hashed >= bytes {
            break;
        }
        hasher.update(piece);
        hashed += piece.len() as u64;
    }
    std::hint::black_box(hasher.finalize());
    hashed as f64 / 1e6 / start.elapsed().as_secs_f64()
}

/// The file on the sender's disk.
fn write_file(path: &Path, content: &Content) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for i in 0..content.chunks() {
        out.write_all(content.bytes(i))?;
    }
    out.into_inner()?.sync_all()?;
    Ok(())
}

/// The relay between two real `classchat pipe` clients on one machine, each
/// with a home of its own: alice types `/sendfile`, bob types `/accept` when
/// the offer shows, and the clock stops at bob's `saved` (downloaded to disk,
/// SHA-256 checked, named). Returns MB/s and the server's memory growth.
async fn by_clients(
    data: &Path,
    names: &[String],
    file: &Path,
    content: &Content,
) -> anyhow::Result<(f64, f64)> {
    let homes = TempDir::new()?;
    let downloads = homes.path().join("downloads");
    let mut server = ServerProcess::start(data, "127.0.0.1:0", StoreKind::Sqlite).await?;
    let (alice_home, bob_home) = (homes.path().join("alice"), homes.path().join("bob"));
    let mut bob = Pipe::start(
        server.addr,
        &names[1],
        seed::PASSWORD,
        &bob_home,
        &downloads,
    )
    .await?;
    let mut alice = Pipe::start(
        server.addr,
        &names[0],
        seed::PASSWORD,
        &alice_home,
        &downloads,
    )
    .await?;
    server.reset_peak()?;
    let before = server.status_kib("VmRSS")?;
    let (cpu0, start) = (server.cpu()?, Instant::now());
    alice
        .command(&format!("/sendfile {} {}", names[1], file.display()))
        .await?;
    let hashed = alice
        .until(|v| v["type"] == "transfer" && v["state"] != "hashing")
        .await?;
    // Her offer's id, from her client's first word of it; then bob's copy
    // (his catch-up may bring older offers first).
    let hers = alice
        .until(|v| v["type"] == "transfer" && v["offer"].is_string())
        .await?;
    let offer = hers.value["offer"]
        .as_str()
        .context("an offer id")?
        .to_owned();
    bob.until(|v| v["type"] == "message" && v["file"]["offer"] == offer.as_str())
        .await?;
    bob.command(&format!("/accept {offer}")).await?;
    let saved = bob
        .until(|v| v["type"] == "transfer" && v["state"] == "saved")
        .await?;
    let took = saved.at - start;
    let cpu = server.cpu()? - cpu0;
    let peak = server.status_kib("VmHWM")?;
    let uploaded = alice
        .until(|v| v["type"] == "transfer" && v["state"] == "uploaded")
        .await?;
    server.check_alive()?;
    let path = PathBuf::from(saved.value["path"].as_str().context("a saved path")?);
    let sha256 = tokio::task::spawn_blocking({
        let path = path.clone();
        move || -> anyhow::Result<String> {
            let mut hasher = Sha256::new();
            std::io::copy(&mut std::fs::File::open(path)?, &mut hasher)?;
            Ok(hex(&hasher.finalize()))
        }
    })
    .await??;
    ensure!(
        sha256 == content.sha256,
        "the saved file differs from the sent one"
    );
    std::fs::remove_file(&path)?;
    alice.finish().await?;
    bob.finish().await?;
    server.stop().await?;
    let size = content.size;
    let rate = size as f64 / 1e6 / took.as_secs_f64();
    let mib = peak.saturating_sub(before) as f64 / 1024.0;
    eprintln!(
        "    real clients: {size} bytes from /sendfile to saved in {:.2} s: {rate:.0} MB/s \
         (alice hashed it first for {:.2} s; her upload ended at {:.2} s, bob's download \
         at {:.2} s); server CPU {:.2} s; server RSS {before} KiB, peak {peak} KiB: \
         +{mib:.1} MiB",
        took.as_secs_f64(),
        (hashed.at - start).as_secs_f64(),
        (uploaded.at - start).as_secs_f64(),
        took.as_secs_f64(),
        cpu.as_secs_f64(),
    );
    Ok((rate, mib))
}

/// The relay spoken by this benchmark's own protocol client, which hashes
/// in memory and writes nothing: what the server alone allows. Returns MB/s.
async fn by_protocol(
    data: &Path,
    accounts: &[seed::Account],
    names: &[String],
    content: &Content,
    run: usize,
    perf: Option<(&Path, &str)>,
) -> anyhow::Result<f64> {
    let size = content.size;
    // A fresh process each run: memory an allocator kept from an earlier
    // transfer would hide what a transfer costs.
    let mut server = ServerProcess::start(data, "127.0.0.1:0", StoreKind::Sqlite).await?;
    let mut conns = traffic::login_all(server.addr, accounts).await?;
    let (Some(mut bob), Some(mut alice)) = (conns.pop(), conns.pop()) else {
        bail!("two connections expected");
    };
    let profile = match perf {
        Some((dir, name)) if run == 0 => Some(Profile::start(dir, name, server.pid)?),
        _ => None,
    };
    let (cpu0, start) = (server.cpu()?, Instant::now());
    // The offer streams: bob downloads while alice's bytes go up.
    let (up, down) = tokio::join!(
        upload(&mut alice, server.addr, &names[1], content, run),
        download(&mut bob, server.addr, content),
    );
    let (uploaded, tail) = up?;
    down?;
    let took = start.elapsed();
    let uploaded = uploaded - start;
    let cpu = server.cpu()? - cpu0;
    if let Some(p) = profile {
        p.stop().await?;
    }
    server.check_alive()?;
    alice.settle().await?;
    let rate = size as f64 / 1e6 / took.as_secs_f64();
    eprintln!(
        "    protocol client: {size} bytes in {:.2} s: {rate:.0} MB/s (upload {:.2} s, of \
         which {:.2} s from the last byte sent to uploaded; the download, streaming beside \
         it, ended {:.2} s later); server CPU {:.2} s",
        took.as_secs_f64(),
        uploaded.as_secs_f64(),
        tail.as_secs_f64(),
        took.saturating_sub(uploaded).as_secs_f64(),
        cpu.as_secs_f64(),
    );
    drop((alice, bob));
    server.stop().await?;
    Ok(rate)
}

/// A bulk connection after its first line and the server's `transfer`.
async fn bulk(
    addr: SocketAddr,
    first: &ClientMessage,
    offer: OfferId,
) -> anyhow::Result<BufReader<TcpStream>> {
    let mut stream = BufReader::with_capacity(BULK_BUFFER, TcpStream::connect(addr).await?);
    stream.get_mut().set_nodelay(true)?;
    stream.get_mut().write_all(&first.to_line()).await?;
    let mut line = Vec::new();
    stream.read_until(b'\n', &mut line).await?;
    let peek = Peek::of(line.trim_ascii_end())?.check()?;
    ensure!(
        peek.kind == "transfer" && peek.offset == Some(0),
        "expected transfer from 0, got {}",
        peek.kind
    );
    ensure!(
        peek.offer.as_deref() == Some(offer.to_string().as_str()),
        "another offer"
    );
    Ok(stream)
}

/// Offers the file to `to` as a streaming offer and sends its bytes on a
/// bulk connection; returns when the server said `uploaded`, and how long
/// that took after the last byte was written (the server writes what it has
/// buffered, checks, syncs and keeps the file).
async fn upload(
    conn: &mut Conn,
    addr: SocketAddr,
    to: &str,
    content: &Content,
    run: usize,
) -> anyhow::Result<(Instant, std::time::Duration)> {
    let to: classchat_common::Conv = to.parse().context("a user name")?;
    let ready = conn
        .ask(|req| ClientMessage::Offer {
            req,
            to,
            name: format!("bench-{run}.bin"),
            size: content.size,
            sha256: content.sha256.clone(),
            stream: true,
        })
        .await?;
    let ready = Peek::of(&ready)?;
    ensure!(
        ready.kind == "upload_ready" && ready.stream,
        "expected upload_ready streaming, got {}",
        ready.kind
    );
    let offer: OfferId = ready
        .offer
        .as_deref()
        .context("upload_ready without offer")?
        .parse()
        .context("an offer id")?;
    let token = ready
        .token
        .context("upload_ready without a token")?
        .into_owned();
    let mut up = bulk(addr, &ClientMessage::Put { token }, offer).await?;
    for i in 0..content.chunks() {
        up.get_mut().write_all(content.bytes(i)).await?;
    }
    let last_sent = Instant::now();
    let mut line = Vec::new();
    up.read_until(b'\n', &mut line).await?;
    let done = Peek::of(line.trim_ascii_end())?.check()?;
    ensure!(
        done.kind == "transfer_done",
        "the put ended with {}",
        done.kind
    );
    loop {
        let reply = conn.line().await?;
        if Peek::of(&reply)?.check()?.kind == "uploaded" {
            return Ok((Instant::now(), last_sent.elapsed()));
        }
    }
}

/// Waits for the offer, accepts it, downloads it on a bulk connection and
/// checks it, says `received`.
async fn download(conn: &mut Conn, addr: SocketAddr, content: &Content) -> anyhow::Result<()> {
    let offer: OfferId = loop {
        let line = conn.line().await?;
        let peek = Peek::of(&line)?.check()?;
        if peek.kind == "message"
            && let Some(file) = peek.file
        {
            break file.offer.parse().context("an offer id")?;
        }
    };
    let answer = conn
        .ask(|req| ClientMessage::Accept {
            req,
            offer,
            bulk: true,
        })
        .await?;
    let answer = Peek::of(&answer)?;
    ensure!(
        answer.kind == "download",
        "accept was not answered with download"
    );
    let token = answer
        .token
        .context("download without a token")?
        .into_owned();
    let mut down = bulk(addr, &ClientMessage::Get { token, offset: 0 }, offer).await?;
    let mut hasher = Sha256::new();
    let mut received = 0u64;
    loop {
        let bytes = down.fill_buf().await?;
        if bytes.is_empty() {
            break;
        }
        hasher.update(bytes);
        let n = bytes.len();
        received += n as u64;
        down.consume(n);
    }
    ensure!(
        received == content.size,
        "{received} bytes came down, not {}",
        content.size
    );
    let sha256 = hex(&hasher.finalize());
    ensure!(
        sha256 == content.sha256,
        "the downloaded file's SHA-256 differs"
    );
    let status = conn
        .ask(|req| ClientMessage::Received { req, offer })
        .await?;
    let status = Peek::of(&status)?;
    ensure!(
        status.kind == "file_status" && status.state.as_deref() == Some("received"),
        "received was answered with {}",
        status.kind
    );
    Ok(())
}
