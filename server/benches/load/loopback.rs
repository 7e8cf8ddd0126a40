//! The file relay's baseline: how fast one loopback TCP connection carries bytes on this machine, measured in the same run.

use std::time::Instant;

use anyhow::{Context as _, ensure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Bytes per write and per read: the file relay's chunk.
const CHUNK: usize = classchat_common::limits::FILE_CHUNK_BYTES;

/// MB/s (10^6 bytes) of `size` bytes written as fast as one task can into a
/// connection on 127.0.0.1 while another task reads them, from the first
/// write to the last byte read.
pub async fn mb_s(size: u64) -> anyhow::Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (writer, accepted) = tokio::join!(TcpStream::connect(addr), listener.accept());
    let (mut writer, (mut reader, _)) = (writer?, accepted?);
    let start = Instant::now();
    let reading = tokio::spawn(async move {
        let mut buf = vec![0; CHUNK];
        let mut read = 0u64;
        loop {
            match reader.read(&mut buf).await? {
                0 => return Ok::<_, std::io::Error>(read),
                n => read += n as u64,
            }
        }
    });
    let chunk = vec![0x5a; CHUNK];
    let mut left = size;
    while left > 0 {
        let n = left.min(CHUNK as u64) as usize;
        writer.write_all(&chunk[..n]).await?;
        left -= n as u64;
    }
    writer.shutdown().await?;
    let read = reading.await.context("the reading task failed")??;
    let took = start.elapsed();
    ensure!(read == size, "{read} bytes of {size} came through loopback");
    Ok(size as f64 / 1e6 / took.as_secs_f64())
}
