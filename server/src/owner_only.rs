//! Folders and files only the server's own user may open: the data directory,
//! the database and its logs, offered files, the TLS key.
//!
//! They are made with their mode (0700, 0600) rather than left to the umask,
//! which on most systems lets every local user read what is made. SQLite's
//! unix VFS gives `-wal` and `-shm` the database file's mode, so making the
//! database file first covers those too. Existing paths are never changed:
//! an operator may have opened them on purpose (a backup user's group), so
//! [`warn_if_open`] names the fix instead.

use std::fs::OpenOptions;
use std::io;
use std::path::Path;

/// Only the owner may list, enter or change a folder.
#[cfg(unix)]
const DIR_MODE: u32 = 0o700;

/// Only the owner may read or write a file.
#[cfg(unix)]
const FILE_MODE: u32 = 0o600;

/// Makes `dir`, and any missing folder above it, open to the owner only.
/// Folders that exist already are left as they are.
pub fn create_dir(dir: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, DIR_MODE);
    builder.create(dir)
}

/// Options that create a file only its owner can read or write; the caller
/// adds how it opens it. An existing file keeps its mode.
pub fn file_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, FILE_MODE);
    options
}

/// Logs a warning for each of `paths` that other users of the machine may
/// open, with the command that closes it. Paths that do not exist are skipped.
pub fn warn_if_open(paths: &[&Path]) {
    #[cfg(unix)]
    for path in paths {
        use std::os::unix::fs::PermissionsExt as _;

        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        // A folder others may only enter (x) still lets them open the files
        // in it by name, and every name in the data directory is known.
        if mode & 0o077 == 0 {
            continue;
        }
        let (what, fix) = if meta.is_dir() {
            ("folder", DIR_MODE)
        } else {
            ("file", FILE_MODE)
        };
        let quoted = shell_quoted(path);
        tracing::warn!(
            "other users of this machine can open the {what} {} (mode {mode:03o}): it holds \
             messages, password hashes or offered files; run `chmod {fix:o} {quoted}`",
            path.display()
        );
    }
    #[cfg(not(unix))]
    let _ = paths;
}

/// `path` as one word for a POSIX shell, so the fix can be pasted as it is.
#[cfg(unix)]
fn shell_quoted(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        text
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(all(test, unix))]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_folder_and_the_folders_made_above_it_are_the_owners_alone() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("a/b");
        create_dir(&dir).unwrap();
        assert_eq!(mode(&parent.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn an_existing_folder_keeps_the_mode_its_operator_gave_it() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("shared");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o750)).unwrap();
        create_dir(&dir).unwrap();
        assert_eq!(mode(&dir), 0o750);
    }

    #[test]
    fn a_path_with_spaces_or_quotes_is_quoted_for_the_shell() {
        assert_eq!(shell_quoted(Path::new("/srv/chat-1")), "/srv/chat-1");
        assert_eq!(shell_quoted(Path::new("/srv/my chat")), "'/srv/my chat'");
        assert_eq!(shell_quoted(Path::new("/srv/bob's")), r"'/srv/bob'\''s'");
    }
}
