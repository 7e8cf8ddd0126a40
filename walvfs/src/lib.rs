//! One system call for each frame of SQLite's write-ahead log.
//!
//! SQLite writes a WAL frame as two `pwrite`s: the frame's 24-byte header, then
//! the page right after it (`walWriteOneFrame` in sqlite3.c). A server that
//! commits every message as it arrives writes two or three frames a commit, so
//! those writes were five of the twelve and a half system calls a message sent
//! one at a time cost (docs/BENCHMARKS.md).
//!
//! [`register`] adds a VFS that is SQLite's own `unix-excl` with one change, on
//! WAL files only: a write of a frame header's size is held back, and the write
//! that starts where it ends goes out with it as one `pwrite`. Anything else
//! done to the file (a write elsewhere, a read, a sync, its size, a truncation,
//! a file control, the WAL index's locks and barrier, a close) first writes what
//! is held back, so SQLite never finds the file other than as it wrote it; the
//! held bytes only ever wait between the two writes of one frame. A crash
//! between them leaves what a crash between SQLite's own two writes leaves: a
//! frame that is not part of a commit, which recovery ignores.
//!
//! The workspace forbids `unsafe`; SQLite's VFS is a C interface, so this crate
//! is one of the two places that use it (with `classchat-prepared`), each block
//! with its reason.

use std::ffi::{CStr, c_int, c_void};
use std::fmt;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use rusqlite::ffi;

/// The name to open a database with (`Connection::open_with_flags_and_vfs`),
/// once [`register`] has succeeded.
pub const NAME: &CStr = c"classchat-wal";

/// The VFS this one wraps: unix, with the database's lock taken once and kept
/// and the WAL index on the heap (the data directory belongs to one process).
const BASE: &CStr = c"unix-excl";

/// The size of a WAL frame's header (`WAL_FRAME_HDRSIZE`).
const FRAME_HEADER: usize = 24;

/// Frames written with one system call instead of two, since the process
/// started (every database together).
static JOINED: AtomicU64 = AtomicU64::new(0);

/// The VFS under ours, and where its file lives inside ours.
struct Base {
    vfs: *mut ffi::sqlite3_vfs,
    /// The offset of the base VFS's file in the memory SQLite gives ours.
    inner_at: usize,
}

// SAFETY: a registered VFS is immutable and lives until the process ends;
// SQLite calls its methods from any thread, and so may we.
unsafe impl Send for Base {}
// SAFETY: as for `Send`: nothing in it is ever written after registration.
unsafe impl Sync for Base {}

static BASE_VFS: OnceLock<Base> = OnceLock::new();

/// Why the VFS could not be registered.
#[derive(Debug, Clone)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SQLite VFS {}: {}", NAME.to_string_lossy(), self.0)
    }
}

impl std::error::Error for Error {}

/// Registers the VFS (once per process; later calls return the first
/// answer) and returns its name.
pub fn register() -> Result<&'static CStr, Error> {
    static REGISTERED: OnceLock<Result<(), Error>> = OnceLock::new();
    REGISTERED.get_or_init(register_once).clone().map(|()| NAME)
}

/// How many WAL frames went out with one system call instead of two.
pub fn joined_writes() -> u64 {
    JOINED.load(Ordering::Relaxed)
}

fn register_once() -> Result<(), Error> {
    // SAFETY: the name is NUL-terminated; SQLite initializes itself first.
    let base = unsafe { ffi::sqlite3_vfs_find(BASE.as_ptr()) };
    if base.is_null() {
        return Err(Error(format!(
            "this SQLite has no {} VFS",
            BASE.to_string_lossy()
        )));
    }
    // SAFETY: non-null, and a registered VFS lives as long as the process.
    let base_ref = unsafe { &*base };
    let inner_at = size_of::<WalFile>().next_multiple_of(align_of::<WalFile>().max(8));
    let base_size = usize::try_from(base_ref.szOsFile)
        .map_err(|_| Error("the base VFS gives a negative file size".into()))?;
    let size = c_int::try_from(inner_at + base_size)
        .map_err(|_| Error("a file object too large for SQLite".into()))?;
    let _ = BASE_VFS.set(Base {
        vfs: base,
        inner_at,
    });
    // Every other method is the base VFS's own: they take the VFS object but
    // read nothing in it beyond `pAppData`, which is the base's too.
    let ours = Box::leak(Box::new(ffi::sqlite3_vfs {
        szOsFile: size,
        pNext: std::ptr::null_mut(),
        zName: NAME.as_ptr(),
        xOpen: Some(open),
        ..*base_ref
    }));
    // SAFETY: `ours` is leaked, so it outlives every connection, and it is a
    // complete copy of a valid VFS; 0: not the default.
    let rc = unsafe { ffi::sqlite3_vfs_register(ours, 0) };
    if rc == ffi::SQLITE_OK {
        Ok(())
    } else {
        Err(Error(format!("sqlite3_vfs_register failed ({rc})")))
    }
}

/// What SQLite's file object holds for a WAL file opened through us. The base
/// VFS's own file object follows at `Base::inner_at`.
#[repr(C)]
struct WalFile {
    /// First, as SQLite expects: its `pMethods` points at [`METHODS`].
    file: ffi::sqlite3_file,
    /// The base VFS's file, inside the same allocation.
    inner: *mut ffi::sqlite3_file,
    /// A frame header held back, and where it goes.
    held: [u8; FRAME_HEADER],
    held_at: Option<ffi::sqlite3_int64>,
    /// The header and the page after it, joined for one write (kept so that a
    /// commit allocates nothing).
    joined: Vec<u8>,
}

impl WalFile {
    fn methods(&self) -> &'static ffi::sqlite3_io_methods {
        // SAFETY: `inner` was opened successfully (see `open`), so its methods
        // point at the base VFS's static table, valid until it is closed.
        unsafe { &*(*self.inner).pMethods }
    }

    /// Writes the held header, if any.
    fn release(&mut self) -> c_int {
        let Some(at) = self.held_at.take() else {
            return ffi::SQLITE_OK;
        };
        let Some(write) = self.methods().xWrite else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        // SAFETY: `inner` is open; the buffer is ours and as long as we say.
        unsafe {
            write(
                self.inner,
                self.held.as_ptr().cast(),
                FRAME_HEADER as c_int,
                at,
            )
        }
    }
}

/// The `WalFile` SQLite passes back to a method.
///
/// # Safety
///
/// `file` must be a file object that `open` filled in as a WAL file and that
/// is not closed; SQLite calls one file's methods one at a time.
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    // SAFETY: as the function's contract says.
    unsafe { &mut *file.cast::<WalFile>() }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let Some(base) = BASE_VFS.get() else {
        return ffi::SQLITE_ERROR;
    };
    // SAFETY: `base.vfs` is registered and lives as long as the process.
    let Some(base_open) = (unsafe { (*base.vfs).xOpen }) else {
        return ffi::SQLITE_ERROR;
    };
    if flags & ffi::SQLITE_OPEN_WAL == 0 {
        // Not a WAL file: the base VFS's own file, in the room SQLite gave us
        // (larger than the base VFS asks for).
        // SAFETY: SQLite's arguments, passed on unchanged.
        return unsafe { base_open(base.vfs, name, file, flags, out_flags) };
    }
    // SAFETY: SQLite gave us `szOsFile` bytes, `inner_at` of them before the
    // base VFS's file, aligned as the base VFS's own allocation would be.
    let inner = unsafe { file.cast::<u8>().add(base.inner_at) }.cast::<ffi::sqlite3_file>();
    // SAFETY: the base VFS opens its file in its own room.
    let rc = unsafe { base_open(base.vfs, name, inner, flags, out_flags) };
    if rc != ffi::SQLITE_OK {
        // SQLite requires a file whose open failed to have no methods; the
        // base VFS left its own without any.
        // SAFETY: `file` points at writable memory of at least our size.
        unsafe { (*file).pMethods = std::ptr::null() };
        return rc;
    }
    let ours = WalFile {
        file: ffi::sqlite3_file { pMethods: &METHODS },
        inner,
        held: [0; FRAME_HEADER],
        held_at: None,
        joined: Vec::new(),
    };
    // SAFETY: the first `inner_at` bytes are ours and hold nothing yet (not
    // a valid `WalFile`, so they are written, not assigned).
    unsafe { file.cast::<WalFile>().write(ours) };
    ffi::SQLITE_OK
}

static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

/// Calls the base VFS's method `$method` on the inner file with `$args`, or
/// returns `$missing` when the base VFS has none.
macro_rules! inner {
    ($w:expr, $method:ident, $missing:expr $(, $arg:expr)*) => {
        match $w.methods().$method {
            // SAFETY: the inner file is open, and the arguments are SQLite's
            // own for the same method.
            Some(f) => unsafe { f($w.inner $(, $arg)*) },
            None => $missing,
        }
    };
}

/// Writes what is held back, returning its error if that fails.
macro_rules! release {
    ($w:expr) => {
        let rc = $w.release();
        if rc != ffi::SQLITE_OK {
            return rc;
        }
    };
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes a file it opened through us, once.
    let w = unsafe { wal(file) };
    let released = w.release();
    let closed = inner!(w, xClose, ffi::SQLITE_OK);
    // SAFETY: the `WalFile` was written by `open` and is dropped once, here;
    // SQLite frees the memory afterwards.
    unsafe { std::ptr::drop_in_place(file.cast::<WalFile>()) };
    if released != ffi::SQLITE_OK {
        released
    } else {
        closed
    }
}

unsafe extern "C" fn read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    release!(w);
    inner!(w, xRead, ffi::SQLITE_IOERR_READ, buf, amount, offset)
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    if let Some(at) = w.held_at {
        if offset == at + FRAME_HEADER as i64
            && let Ok(joined_len) = c_int::try_from(FRAME_HEADER + len)
        {
            w.held_at = None;
            // SAFETY: SQLite's buffer holds `amount` bytes.
            let page = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
            w.joined.clear();
            w.joined.extend_from_slice(&w.held);
            w.joined.extend_from_slice(page);
            JOINED.fetch_add(1, Ordering::Relaxed);
            let joined = w.joined.as_ptr().cast::<c_void>();
            return inner!(w, xWrite, ffi::SQLITE_IOERR_WRITE, joined, joined_len, at);
        }
        release!(w);
    }
    if len == FRAME_HEADER {
        // SAFETY: SQLite's buffer holds `amount` (24) bytes.
        let header = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), FRAME_HEADER) };
        w.held.copy_from_slice(header);
        w.held_at = Some(offset);
        return ffi::SQLITE_OK;
    }
    inner!(w, xWrite, ffi::SQLITE_IOERR_WRITE, buf, amount, offset)
}

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    release!(w);
    inner!(w, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, size)
}

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    release!(w);
    inner!(w, xSync, ffi::SQLITE_IOERR_FSYNC, flags)
}

unsafe extern "C" fn file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    release!(w);
    inner!(w, xFileSize, ffi::SQLITE_IOERR_FSTAT, size)
}

unsafe extern "C" fn lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(w, xLock, ffi::SQLITE_IOERR_LOCK, level)
}

unsafe extern "C" fn unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(w, xUnlock, ffi::SQLITE_IOERR_UNLOCK, level)
}

unsafe extern "C" fn check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(
        w,
        xCheckReservedLock,
        ffi::SQLITE_IOERR_CHECKRESERVEDLOCK,
        out
    )
}

unsafe extern "C" fn file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    release!(w);
    inner!(w, xFileControl, ffi::SQLITE_NOTFOUND, op, arg)
}

unsafe extern "C" fn sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(w, xSectorSize, 4096)
}

unsafe extern "C" fn device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(w, xDeviceCharacteristics, 0)
}

unsafe extern "C" fn shm_map(
    file: *mut ffi::sqlite3_file,
    region: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(
        w,
        xShmMap,
        ffi::SQLITE_IOERR_SHMMAP,
        region,
        size,
        extend,
        out
    )
}

unsafe extern "C" fn shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    release!(w);
    inner!(w, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, offset, n, flags)
}

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    // A barrier cannot fail; a failed release leaves the header held, and the
    // next call on the file writes it or reports the error.
    if let Some(at) = w.held_at
        && w.release() != ffi::SQLITE_OK
    {
        w.held_at = Some(at);
    }
    inner!(w, xShmBarrier, ());
}

unsafe extern "C" fn shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(w, xShmUnmap, ffi::SQLITE_OK, delete)
}

unsafe extern "C" fn fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    release!(w);
    match w.methods().xFetch {
        // SAFETY: the inner file is open; SQLite's arguments.
        Some(f) => unsafe { f(w.inner, offset, amount, out) },
        None => {
            // No memory map: SQLite reads instead.
            // SAFETY: SQLite passes a place for the pointer.
            unsafe { *out = std::ptr::null_mut() };
            ffi::SQLITE_OK
        }
    }
}

unsafe extern "C" fn unfetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    page: *mut c_void,
) -> c_int {
    // SAFETY: a file SQLite opened through us.
    let w = unsafe { wal(file) };
    inner!(w, xUnfetch, ffi::SQLITE_OK, offset, page)
}

#[cfg(test)]
mod tests {
    //! A WAL file driven through the VFS's methods directly, for the orders of
    //! calls SQLite itself does not make (it always writes a header's page
    //! right after it).

    use super::*;

    /// A WAL file opened through the VFS, in memory the test owns.
    struct Opened {
        /// The file object's memory (`u64`s, for the alignment SQLite gives).
        _memory: Vec<u64>,
        file: *mut ffi::sqlite3_file,
        /// The file's name, NUL-terminated, for as long as the file is open.
        _name: Vec<u8>,
        path: std::path::PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Opened {
        fn new() -> Self {
            register().unwrap();
            let dir = tempfile::tempdir().unwrap();
            // The base VFS looks at the database a WAL file belongs to.
            std::fs::write(dir.path().join("t.db"), b"").unwrap();
            let path = dir.path().join("t.db-wal");
            // A filename as SQLite passes it: followed by empty URI parameters.
            let mut name = path.as_os_str().as_encoded_bytes().to_vec();
            name.extend_from_slice(&[0, 0, 0]);
            // SAFETY: registered above.
            let vfs = unsafe { ffi::sqlite3_vfs_find(NAME.as_ptr()) };
            assert!(!vfs.is_null());
            // SAFETY: a registered VFS.
            let size = usize::try_from(unsafe { (*vfs).szOsFile }).unwrap();
            let mut memory = vec![0u64; size.div_ceil(8)];
            let file = memory.as_mut_ptr().cast::<ffi::sqlite3_file>();
            let flags = ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_CREATE | ffi::SQLITE_OPEN_READWRITE;
            let mut out = 0;
            // SAFETY: `file` has the VFS's size; the name outlives the file.
            let rc = unsafe { open(vfs, name.as_ptr().cast(), file, flags, &mut out) };
            assert_eq!(rc, ffi::SQLITE_OK);
            Opened {
                _memory: memory,
                file,
                _name: name,
                path,
                _dir: dir,
            }
        }

        fn methods(&self) -> &'static ffi::sqlite3_io_methods {
            // SAFETY: opened, and not closed until `close`.
            unsafe { &*(*self.file).pMethods }
        }

        fn write(&self, bytes: &[u8], at: i64) {
            let write = self.methods().xWrite.unwrap();
            let len = c_int::try_from(bytes.len()).unwrap();
            // SAFETY: an open file and a buffer of `len` bytes.
            let rc = unsafe { write(self.file, bytes.as_ptr().cast(), len, at) };
            assert_eq!(rc, ffi::SQLITE_OK);
        }

        fn read(&self, len: usize, at: i64) -> Vec<u8> {
            let read = self.methods().xRead.unwrap();
            let mut buf = vec![0u8; len];
            let n = c_int::try_from(len).unwrap();
            // SAFETY: an open file and a buffer of `len` bytes.
            let rc = unsafe { read(self.file, buf.as_mut_ptr().cast(), n, at) };
            assert_eq!(rc, ffi::SQLITE_OK);
            buf
        }

        fn size(&self) -> i64 {
            let file_size = self.methods().xFileSize.unwrap();
            let mut size = 0;
            // SAFETY: an open file and a place for the size.
            assert_eq!(unsafe { file_size(self.file, &mut size) }, ffi::SQLITE_OK);
            size
        }

        fn on_disk(&self) -> Vec<u8> {
            std::fs::read(&self.path).unwrap()
        }

        fn close(self) -> Vec<u8> {
            let close = self.methods().xClose.unwrap();
            // SAFETY: open, and closed once.
            assert_eq!(unsafe { close(self.file) }, ffi::SQLITE_OK);
            self.on_disk()
        }
    }

    const HEADER: [u8; FRAME_HEADER] = [b'h'; FRAME_HEADER];

    #[test]
    fn a_header_and_the_page_after_it_go_out_as_one_write() {
        let f = Opened::new();
        let before = joined_writes();
        f.write(&HEADER, 32);
        assert!(f.on_disk().is_empty(), "the header waits for its page");
        f.write(&[b'p'; 100], 56);
        assert!(joined_writes() > before);
        let disk = f.on_disk();
        assert_eq!(disk.len(), 156);
        assert_eq!(&disk[32..56], &HEADER);
        assert!(disk[56..].iter().all(|&b| b == b'p'));
        f.close();
    }

    #[test]
    fn a_held_header_is_written_before_anything_else_touches_the_file() {
        // A write somewhere else.
        let f = Opened::new();
        f.write(&HEADER, 1000);
        f.write(&[b'p'; 10], 0);
        let disk = f.on_disk();
        assert_eq!(&disk[1000..1024], &HEADER);
        assert_eq!(&disk[..10], &[b'p'; 10]);
        f.close();

        // A read of it, and the file's size.
        let f = Opened::new();
        f.write(&HEADER, 0);
        assert_eq!(f.read(FRAME_HEADER, 0), HEADER);
        assert_eq!(f.size(), 24);
        f.close();

        let f = Opened::new();
        f.write(&HEADER, 8);
        assert_eq!(f.size(), 32);
        f.close();

        // A sync.
        let f = Opened::new();
        f.write(&HEADER, 0);
        let sync = f.methods().xSync.unwrap();
        // SAFETY: an open file.
        let rc = unsafe { sync(f.file, ffi::SQLITE_SYNC_NORMAL) };
        assert_eq!(rc, ffi::SQLITE_OK);
        assert_eq!(f.on_disk(), HEADER);
        f.close();

        // The close.
        let f = Opened::new();
        f.write(&HEADER, 0);
        assert_eq!(f.close(), HEADER);

        // Two headers in a row: the first is written when the second comes.
        let f = Opened::new();
        f.write(&HEADER, 0);
        f.write(&[b'g'; FRAME_HEADER], 100);
        assert_eq!(f.on_disk(), HEADER);
        let disk = f.close();
        assert_eq!(&disk[100..124], &[b'g'; FRAME_HEADER]);
    }
}
