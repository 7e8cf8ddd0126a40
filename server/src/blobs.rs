//! Where the bytes of offered files are kept: one file per offer in the files
//! folder (`<data dir>/files`, or a temporary folder for the memory store).
//!
//! Sessions and the hub name a file by its offer; only this module knows paths,
//! temporary names and what makes a file durable. It is the seam a cluster node
//! needs (its files stay on its own disk, and another node's are read from that
//! node), so nothing outside it may touch the folder.
//!
//! An upload is written under `<offer>.part` and becomes `<offer>` only once it
//! is complete, verified and on the disk ([`Blobs::keep`]): a file under its
//! final name is always whole.
//!
//! An upload made readable ([`Blobs::create_readable`], an offer posted
//! before its bytes are all in) may be read while it grows: its readers open
//! the temporary file and wait, in [`BlobReader::grown`], for the bytes the
//! writer has flushed. The last byte is held back until the file is kept, so
//! nobody has a whole file before the server has verified and stored it.
//!
//! In a cluster the bytes stay on the node that took the upload; a download
//! on another node reads them from there, chunk by chunk, through [`Fetch`]
//! (`cluster.rs` asks that node over NATS, and that node answers from its own
//! folder with [`Blobs::reader`]).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use classchat_common::OfferId;
use classchat_common::files::read_at_into;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

/// The files folder; a cheap handle.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: Arc<Path>,
    /// Reads other nodes' files, in a cluster.
    remote: Option<Arc<dyn Fetch>>,
    /// Uploads that may be read while they are written.
    growing: Arc<Mutex<HashMap<OfferId, watch::Receiver<Growth>>>>,
}

/// How far a readable upload has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// This many bytes are written and flushed, readable at once.
    Written(u64),
    /// Whole, verified and kept under its final name.
    Kept,
    /// Cut short or refused: there will be no more.
    Failed,
}

/// A read of bytes that another node holds.
pub type Fetched = Pin<Box<dyn Future<Output = io::Result<Vec<u8>>> + Send>>;

/// Reads the files other nodes of a cluster hold.
pub trait Fetch: Send + Sync + std::fmt::Debug {
    /// Up to `len` bytes of `offer`'s file from `offset`, read on `node`;
    /// `NotFound` once that node no longer has it.
    fn fetch(&self, node: &str, offer: OfferId, offset: u64, len: u64) -> Fetched;
}

/// An upload being written.
#[derive(Debug)]
pub struct BlobWriter {
    offer: OfferId,
    part: PathBuf,
    file: tokio::fs::File,
    /// Tells readers of a readable upload how far it has come.
    growth: Option<(watch::Sender<Growth>, u64)>,
}

/// A kept file, open for reading at any offset: here, or on another node.
#[derive(Debug, Clone)]
pub enum BlobReader {
    Local {
        file: Arc<std::fs::File>,
        path: Arc<Path>,
        /// While the file is still being uploaded.
        growth: Option<watch::Receiver<Growth>>,
    },
    Remote {
        fetch: Arc<dyn Fetch>,
        node: Arc<str>,
        offer: OfferId,
    },
}

impl Blobs {
    /// The folder `dir`, made owner-only if it is new; a folder found open to
    /// others is named in a warning.
    pub fn open(dir: PathBuf) -> io::Result<Self> {
        crate::owner_only::create_dir(&dir)?;
        crate::owner_only::warn_if_open(&[&dir]);
        Ok(Self {
            dir: dir.into(),
            remote: None,
            growing: Arc::default(),
        })
    }

    /// The same folder, able to read other nodes' files through `fetch`.
    pub fn with_remote(self, fetch: Arc<dyn Fetch>) -> Self {
        Self {
            remote: Some(fetch),
            ..self
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, offer: OfferId) -> PathBuf {
        self.dir.join(offer.to_string())
    }

    /// Starts writing the upload of `offer` (owner-only from its first byte).
    pub async fn create(&self, offer: OfferId) -> io::Result<BlobWriter> {
        let part = self.dir.join(format!("{offer}.part"));
        let mut options = tokio::fs::OpenOptions::from(crate::owner_only::file_options());
        options.write(true).create(true).truncate(true);
        let file = options.open(&part).await.inspect_err(|e| {
            tracing::error!("cannot create {}: {e}", part.display());
        })?;
        Ok(BlobWriter {
            offer,
            part,
            file,
            growth: None,
        })
    }

    /// Starts writing an upload that [`Blobs::reader`] opens while it grows.
    pub async fn create_readable(&self, offer: OfferId) -> io::Result<BlobWriter> {
        let mut writer = self.create(offer).await?;
        let (tell, hear) = watch::channel(Growth::Written(0));
        writer.growth = Some((tell, 0));
        self.lock_growing().insert(offer, hear);
        Ok(writer)
    }

    fn lock_growing(&self) -> std::sync::MutexGuard<'_, HashMap<OfferId, watch::Receiver<Growth>>> {
        // Nothing holding it can panic half-way; a poisoned map is still whole.
        self.growing.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The upload's readers learn how it ended, and new ones no longer
    /// open it as growing.
    fn ended(&self, upload: &BlobWriter, how: Growth) {
        if let Some((tell, _)) = &upload.growth {
            self.lock_growing().remove(&upload.offer);
            tell.send_replace(how);
        }
    }

    /// Makes a complete upload the offer's file: its bytes, then its name,
    /// reach the disk before this returns, so a recorded offer always has its
    /// file, even after a power failure. On failure nothing is left.
    pub async fn keep(&self, mut upload: BlobWriter) -> io::Result<()> {
        let done = self.path(upload.offer);
        // Flushed first: tokio's `sync_data` does not report a write that
        // failed while in flight (a full disk), and would keep a short file.
        let written = match upload.file.flush().await {
            Ok(()) => upload.file.sync_data().await,
            Err(e) => Err(e),
        };
        let stored = match written {
            Ok(()) => match tokio::fs::rename(&upload.part, &done).await {
                Ok(()) => sync_dir(self.dir.to_path_buf()).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        if let Err(e) = &stored {
            tracing::error!("cannot keep {}: {e}", upload.part.display());
            self.ended(&upload, Growth::Failed);
            drop(upload.file);
            let _ = tokio::fs::remove_file(&upload.part).await;
            let _ = tokio::fs::remove_file(&done).await;
        } else {
            self.ended(&upload, Growth::Kept);
        }
        stored
    }

    /// Drops an upload cut short.
    pub async fn discard(&self, upload: BlobWriter) {
        self.ended(&upload, Growth::Failed);
        drop(upload.file);
        let _ = tokio::fs::remove_file(&upload.part).await;
    }

    /// Whether the kept file of `offer` is here.
    pub fn has(&self, offer: OfferId) -> bool {
        self.path(offer).exists()
    }

    /// Opens the file of `offer`: kept, or a readable upload still growing.
    pub fn reader(&self, offer: OfferId) -> io::Result<BlobReader> {
        let path = self.path(offer);
        let growth = self.lock_growing().get(&offer).cloned();
        if let Some(growth) = growth {
            // Kept (renamed) or dropped since: the final name says which.
            let part = self.dir.join(format!("{offer}.part"));
            if let Ok(file) = std::fs::File::open(part) {
                return Ok(BlobReader::Local {
                    file: Arc::new(file),
                    path: path.into(),
                    growth: Some(growth),
                });
            }
        }
        let file = std::fs::File::open(&path)
            .inspect_err(|e| tracing::error!("cannot open {}: {e}", path.display()))?;
        Ok(BlobReader::Local {
            file: Arc::new(file),
            path: path.into(),
            growth: None,
        })
    }

    /// The file of `offer`, kept here (`node` is `None`) or on `node`.
    pub fn reader_on(&self, offer: OfferId, node: Option<&str>) -> io::Result<BlobReader> {
        let Some(node) = node else {
            return self.reader(offer);
        };
        let fetch = self.remote.clone().ok_or(io::ErrorKind::NotFound)?;
        Ok(BlobReader::Remote {
            fetch,
            node: node.into(),
            offer,
        })
    }

    /// Deletes the file of `offer` (an offer that is over). Blocking, but one
    /// unlink: the hub calls it after a commit.
    pub fn remove(&self, offer: OfferId) {
        self.lock_growing().remove(&offer);
        for path in [self.path(offer), self.dir.join(format!("{offer}.part"))] {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => tracing::warn!("cannot delete {}: {e}", path.display()),
            }
        }
    }

    /// Deletes everything but the files of `open` offers: uploads cut short by
    /// a stop, and files of offers that ended while the server was down.
    pub fn retain(&self, open: &HashSet<OfferId>) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let keep = name
                .to_str()
                .and_then(|n| n.parse::<OfferId>().ok())
                .is_some_and(|offer| open.contains(&offer));
            if !keep && let Err(e) = std::fs::remove_file(entry.path()) {
                tracing::warn!("cannot remove {}: {e}", entry.path().display());
            }
        }
    }
}

impl BlobWriter {
    pub async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.file.write_all(bytes).await.inspect_err(|e| {
            tracing::error!("cannot write {}: {e}", self.part.display());
        })?;
        if let Some((tell, written)) = &mut self.growth {
            // Readers read the file, not this buffer: the bytes go to the
            // kernel before they are announced.
            self.file.flush().await.inspect_err(|e| {
                tracing::error!("cannot write {}: {e}", self.part.display());
            })?;
            *written += bytes.len() as u64;
            tell.send_replace(Growth::Written(*written));
        }
        Ok(())
    }
}

impl BlobReader {
    /// Up to `len` bytes from `offset`. Fails with `NotFound` once the offer's
    /// file was deleted (withdrawn, expired), which an open handle would not
    /// notice by itself. Reads at an explicit offset, so a read abandoned
    /// half-way is simply made again.
    pub async fn read(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        self.read_into(offset, len, Vec::new()).await
    }

    /// The same into `buf`, whose room is reused (see [`read_at_into`]).
    pub async fn read_into(&self, offset: u64, len: u64, buf: Vec<u8>) -> io::Result<Vec<u8>> {
        let (file, path, growing) = match self {
            BlobReader::Local { file, path, growth } => (
                file.clone(),
                path.clone(),
                growth.as_ref().is_some_and(|g| *g.borrow() != Growth::Kept),
            ),
            BlobReader::Remote { fetch, node, offer } => {
                return fetch.fetch(node, *offer, offset, len).await;
            }
        };
        tokio::task::spawn_blocking(move || {
            // A growing file has no final name yet; its end is in `grown`.
            if !growing && !path.exists() {
                return Err(io::ErrorKind::NotFound.into());
            }
            read_at_into(&file, offset, len, buf)
        })
        .await
        .map_err(io::Error::other)?
    }

    /// Where the readable bytes of a file of `size` bytes end, once they go
    /// past `past`: `size` for a kept file at once; for one still growing,
    /// whatever is written, short of the last byte, waiting for more if
    /// need be. `NotFound` once the upload failed. Cancel-safe.
    pub async fn grown(&self, past: u64, size: u64) -> io::Result<u64> {
        let BlobReader::Local {
            growth: Some(growth),
            ..
        } = self
        else {
            return Ok(size);
        };
        let failed = || io::Error::new(io::ErrorKind::NotFound, "the upload failed");
        let mut growth = growth.clone();
        loop {
            let end = match *growth.borrow_and_update() {
                Growth::Kept => return Ok(size),
                Growth::Failed => return Err(failed()),
                Growth::Written(n) => n.min(size.saturating_sub(1)),
            };
            if end > past {
                return Ok(end);
            }
            if growth.changed().await.is_err() {
                // The writer is gone without a word: the upload is over.
                return match *growth.borrow() {
                    Growth::Kept => Ok(size),
                    _ => Err(failed()),
                };
            }
        }
    }
}

/// Makes a rename in `dir` durable.
async fn sync_dir(dir: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_kept_upload_is_read_back_and_a_discarded_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path().join("files")).unwrap();
        let (kept, dropped) = (OfferId::new(), OfferId::new());
        let mut w = blobs.create(kept).await.unwrap();
        w.write(b"hello ").await.unwrap();
        w.write(b"world").await.unwrap();
        blobs.keep(w).await.unwrap();
        let mut w = blobs.create(dropped).await.unwrap();
        w.write(b"half").await.unwrap();
        blobs.discard(w).await;

        let r = blobs.reader(kept).unwrap();
        assert_eq!(r.read(6, 100).await.unwrap(), b"world");
        assert!(blobs.reader(dropped).is_err());
        let names: Vec<_> = std::fs::read_dir(blobs.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(kept.to_string())]);

        // Removed under an open reader: the next read says so.
        blobs.remove(kept);
        let gone = r.read(0, 5).await.unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test(start_paused = true)]
    async fn a_readable_upload_is_read_as_it_grows_short_of_its_last_byte_until_kept() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path().join("files")).unwrap();
        let (kept, failed) = (OfferId::new(), OfferId::new());
        let mut w = blobs.create_readable(kept).await.unwrap();
        let r = blobs.reader(kept).unwrap();
        // Nothing written: a reader waits.
        let waiting = tokio::time::timeout(Duration::from_millis(20), r.grown(0, 10)).await;
        assert!(waiting.is_err(), "nothing to read yet");
        w.write(b"hello").await.unwrap();
        assert_eq!(r.grown(0, 10).await.unwrap(), 5);
        assert_eq!(r.read(0, 5).await.unwrap(), b"hello");
        // All ten bytes written, but the last waits for the file to be kept.
        w.write(b"world").await.unwrap();
        assert_eq!(r.grown(5, 10).await.unwrap(), 9);
        let held = tokio::time::timeout(Duration::from_millis(20), r.grown(9, 10)).await;
        assert!(held.is_err(), "the last byte is held back");
        blobs.keep(w).await.unwrap();
        assert_eq!(r.grown(9, 10).await.unwrap(), 10);
        assert_eq!(r.read(5, 5).await.unwrap(), b"world");
        // Kept: a new reader opens the whole file, no longer growing.
        assert_eq!(blobs.reader(kept).unwrap().grown(0, 10).await.unwrap(), 10);

        let mut w = blobs.create_readable(failed).await.unwrap();
        let r = blobs.reader(failed).unwrap();
        w.write(b"half").await.unwrap();
        blobs.discard(w).await;
        let gone = r.grown(4, 8).await.unwrap_err();
        assert_eq!(gone.kind(), io::ErrorKind::NotFound);
        assert!(blobs.reader(failed).is_err(), "nothing left to open");
    }

    #[tokio::test]
    async fn only_open_offers_survive_a_start() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path().to_path_buf()).unwrap();
        let (open, over, cut) = (OfferId::new(), OfferId::new(), OfferId::new());
        for offer in [open, over] {
            let w = blobs.create(offer).await.unwrap();
            blobs.keep(w).await.unwrap();
        }
        drop(blobs.create(cut).await.unwrap());
        std::fs::write(dir.path().join("stray"), b"x").unwrap();
        blobs.retain(&HashSet::from([open]));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from(open.to_string())]);
    }
}
