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
//! In a cluster the bytes stay on the node that took the upload; a download
//! on another node reads them from there, chunk by chunk, through [`Fetch`]
//! (`cluster.rs` asks that node over NATS, and that node answers from its own
//! folder with [`Blobs::reader`]).

use std::collections::HashSet;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use classchat_common::OfferId;
use classchat_common::files::read_at;
use tokio::io::AsyncWriteExt;

/// The files folder; a cheap handle.
#[derive(Debug, Clone)]
pub struct Blobs {
    dir: Arc<Path>,
    /// Reads other nodes' files, in a cluster.
    remote: Option<Arc<dyn Fetch>>,
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
}

/// A kept file, open for reading at any offset: here, or on another node.
#[derive(Debug, Clone)]
pub enum BlobReader {
    Local {
        file: Arc<std::fs::File>,
        path: Arc<Path>,
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
        Ok(BlobWriter { offer, part, file })
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
            drop(upload.file);
            let _ = tokio::fs::remove_file(&upload.part).await;
            let _ = tokio::fs::remove_file(&done).await;
        }
        stored
    }

    /// Drops an upload cut short.
    pub async fn discard(&self, upload: BlobWriter) {
        drop(upload.file);
        let _ = tokio::fs::remove_file(&upload.part).await;
    }

    /// Opens the kept file of `offer`.
    pub fn reader(&self, offer: OfferId) -> io::Result<BlobReader> {
        let path = self.path(offer);
        let file = std::fs::File::open(&path)
            .inspect_err(|e| tracing::error!("cannot open {}: {e}", path.display()))?;
        Ok(BlobReader::Local {
            file: Arc::new(file),
            path: path.into(),
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
        })
    }
}

impl BlobReader {
    /// Up to `len` bytes from `offset`. Fails with `NotFound` once the offer's
    /// file was deleted (withdrawn, expired), which an open handle would not
    /// notice by itself. Reads at an explicit offset, so a read abandoned
    /// half-way is simply made again.
    pub async fn read(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let (file, path) = match self {
            BlobReader::Local { file, path } => (file.clone(), path.clone()),
            BlobReader::Remote { fetch, node, offer } => {
                return fetch.fetch(node, *offer, offset, len).await;
            }
        };
        tokio::task::spawn_blocking(move || {
            if !path.exists() {
                return Err(io::ErrorKind::NotFound.into());
            }
            read_at(&file, offset, len)
        })
        .await
        .map_err(io::Error::other)?
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
