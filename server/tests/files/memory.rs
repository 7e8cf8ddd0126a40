//! The real server binary relaying 50 MB, its memory read from /proc.

use std::time::Instant;

use classchat_common::protocol::FileState;
use tempfile::TempDir;

use crate::fixtures::{
    Content, counts, download, offer_message, ready, settled, status, stored_files, upload,
};
use crate::support::binary::{launch, server_command};
use crate::support::{self, TestClient};

/// A `VmRSS`/`VmHWM`-style figure of a process, in KiB.
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

// The memory bound. The server never holds a file: an upload is written to
// disk chunk by chunk (one 128 KiB chunk, its 175 KiB base64 line and a read
// buffer at a time), a download reads one chunk per send and runs at most
// `file_window` chunks (1 MiB) ahead of the client's acknowledgements, and
// those bytes sit in the kernel's socket buffers, not in the process. So the
// growth is a few chunk-sized buffers plus allocator slack, whatever the
// file's size; 16 MiB leaves room for a debug build's allocator and still
// fails loudly if even a third of the 50 MiB file were buffered. The peak is
// reset (`clear_refs` 5) after the logins, whose argon2 hashes use 19 MiB
// each on purpose and would otherwise set it.
#[tokio::test]
async fn a_50_mb_file_reaches_its_recipient_intact_while_the_real_server_stays_within_16_mib() {
    const SIZE: u64 = 50 << 20;
    const BOUND_KIB: u64 = 16 << 10;
    let data = TempDir::new().unwrap();
    let (child, addr, _log) = launch(server_command(data.path())).await.listening();
    let pid = child.id().unwrap();
    let mut alice = TestClient::login(addr, "alice", support::PASSWORD).await;
    let mut bob = TestClient::login(addr, "bob", support::PASSWORD).await;
    let content = Content::new(50, SIZE);

    let reset = std::fs::write(format!("/proc/{}/clear_refs", pid), "5").is_ok();
    let rss_before = proc_kib(pid, "VmRSS:");
    let hwm_before = proc_kib(pid, "VmHWM:");
    let start = Instant::now();

    let up = ready(&mut alice, "bob", "big.bin", &content).await;
    let (_, seq) = upload(&mut alice, &up, &content).await;
    let uploaded_in = start.elapsed();
    // On disk, whole, under the offer's id.
    let kept = data.path().join("files").join(up.offer.to_string());
    assert_eq!(std::fs::metadata(&kept).unwrap().len(), SIZE);

    let m = offer_message(&mut bob).await;
    assert_eq!(m.seq, seq);
    let info = m.file.unwrap();
    assert_eq!(
        (info.offer, info.size, info.sha256.as_str()),
        (up.offer, SIZE, content.sha256.as_str())
    );
    let (state, c) = download(&mut bob, up.offer, &content).await;
    assert_eq!((state, c), (FileState::Received, counts(1, 0, 1, 1)));
    let took = start.elapsed();

    let hwm_after = proc_kib(pid, "VmHWM:");
    let base = if reset { rss_before } else { hwm_before };
    let growth = hwm_after.saturating_sub(base);
    eprintln!(
        "50 MiB relayed through the real server in {took:?} (upload {uploaded_in:?}): \
         RSS before {rss_before} KiB, peak after {hwm_after} KiB, growth {growth} KiB \
         (peak reset: {reset})"
    );
    assert!(
        growth < BOUND_KIB,
        "the server grew by {growth} KiB relaying a {SIZE}-byte file"
    );

    // Alice hears of it; the server keeps nothing once bob has it.
    let (who, state, c) = status(&mut alice).await;
    assert_eq!(
        (who.as_str(), state, c),
        ("bob", FileState::Accepted, counts(1, 0, 0, 1))
    );
    let (who, state, c) = status(&mut alice).await;
    assert_eq!(
        (who.as_str(), state, c),
        ("bob", FileState::Received, counts(1, 0, 1, 1))
    );
    settled(&mut alice).await;
    assert!(stored_files(&data.path().join("files")).is_empty());
    drop(child);
}
