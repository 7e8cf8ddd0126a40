//! File names that are safe to store and show, whatever the sender wrote, and
//! the few things both sides do to a file's bytes the same way (read a chunk at
//! an offset, write its SHA-256 as the protocol does).
//!
//! Both sides apply [`safe_name`]: the server before it announces an offer, the
//! client again before it writes anything. The result has no directory parts, no
//! `..`, no control, bidi, invisible or blank characters ([`crate::text`]), no
//! leading dot, and at most [`MAX_FILE_NAME_BYTES`] bytes with the extension kept.

use crate::text::{self, Class};

/// The longest file name, in bytes of UTF-8.
pub const MAX_FILE_NAME_BYTES: usize = 200;

fn unwanted(c: char) -> bool {
    // A blank takes room but would let a name look like spaces, or like nothing.
    text::class(c) != Class::Shown || matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*')
}

/// A name for `raw` that cannot leave the folder it is saved in.
pub fn safe_name(raw: &str) -> String {
    // Only the last path component counts, whichever separator was used.
    let last = raw.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = last.chars().filter(|c| !unwanted(*c)).collect();
    // Spaces and dots at either end go (a leading dot would hide the file).
    let trimmed = cleaned.trim_matches(|c: char| c == '.' || c.is_whitespace());
    let name = if trimmed.is_empty() { "file" } else { trimmed };
    shorten(name, MAX_FILE_NAME_BYTES)
}

/// Cuts `name` to `max` bytes on a character boundary, keeping a short extension.
fn shorten(name: &str, max: usize) -> String {
    if name.len() <= max {
        return name.to_owned();
    }
    let ext = name
        .rfind('.')
        .map(|i| &name[i..])
        .filter(|e| e.len() <= 16 && e.len() < max / 2)
        .unwrap_or("");
    let mut stem_end = max - ext.len();
    while !name.is_char_boundary(stem_end) {
        stem_end -= 1;
    }
    // The cut may leave a space or dot at the end, which `safe_name` trims.
    let stem = name[..stem_end].trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    format!("{stem}{ext}")
}

/// `name (n).ext`: the n-th alternative when `name` is taken.
pub fn numbered(name: &str, n: u32) -> String {
    match name.rfind('.').filter(|&i| i > 0) {
        Some(i) => format!("{} ({n}){}", &name[..i], &name[i..]),
        None => format!("{name} ({n})"),
    }
}

/// "1.2 MB" and the like, for people: bytes below 1000, otherwise powers of
/// 1000 with one decimal, rounded to the nearest tenth. The unit is chosen
/// after rounding, so 999,950 bytes read "1.0 MB", never "1000.0 KB".
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 1;
    while (value * 10.0).round() >= 10_000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A SHA-256 (or any digest) as the protocol writes it: lower-case hex.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Up to `len` bytes of `file` from `offset` (fewer only at its end): one
/// chunk of a transfer, read at an explicit offset so that a read abandoned
/// half-way is simply made again. Blocking; both sides call it off the async
/// threads.
#[cfg(unix)]
pub fn read_at(file: &std::fs::File, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    read_at_into(file, offset, len, Vec::new())
}

/// The same into `buf`, whose room is reused: a transfer reading chunk
/// after chunk keeps one buffer instead of making one per chunk.
#[cfg(unix)]
pub fn read_at_into(
    file: &std::fs::File,
    offset: u64,
    len: u64,
    mut buf: Vec<u8>,
) -> std::io::Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    buf.resize(usize::try_from(len).map_err(std::io::Error::other)?, 0);
    let mut filled = 0;
    while filled < buf.len() {
        match file.read_at(&mut buf[filled..], offset + filled as u64)? {
            0 => break,
            n => filled += n,
        }
    }
    buf.truncate(filled);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_lose_their_teeth() {
        let cases = [
            ("notes.pdf", "notes.pdf"),
            ("../../etc/passwd", "passwd"),
            ("..", "file"),
            ("/", "file"),
            ("C:\\Windows\\system.ini", "system.ini"),
            (".bashrc", "bashrc"),
            ("a\0b\nc\x1b[31m.txt", "abc[31m.txt"),
            ("evil\u{202E}fdp.exe", "evilfdp.exe"),
            ("zero\u{200B}width.txt", "zerowidth.txt"),
            ("mongolian\u{180E}vowel.txt", "mongolianvowel.txt"),
            ("cgj\u{34F}\u{115F}\u{3164}\u{2800}.txt", "cgj.txt"),
            (
                "report.pdf\u{E0001}\u{E002E}\u{E0065}\u{E0078}\u{E0065}",
                "report.pdf",
            ),
            ("\u{3164}\u{2800}\u{FEFF}", "file"),
            ("  spaced .  ", "spaced"),
            (". x", "x"),
            (" .hidden", "hidden"),
            ("", "file"),
        ];
        for (raw, safe) in cases {
            assert_eq!(safe_name(raw), safe, "{raw:?}");
        }
    }

    #[test]
    fn long_names_are_cut_keeping_the_extension_and_utf8() {
        let long = format!("{}.tar.gz", "é".repeat(300));
        let safe = safe_name(&long);
        assert!(safe.len() <= MAX_FILE_NAME_BYTES);
        assert!(safe.ends_with(".gz"));
        assert!(safe.starts_with('é'));
    }

    #[test]
    fn a_cut_never_leaves_a_space_or_dot_at_the_end() {
        let long = format!("{} {}", "a".repeat(199), "b".repeat(30));
        assert_eq!(safe_name(&long), "a".repeat(199));
        let long = format!("{}. tail.pdf", "a".repeat(195));
        assert_eq!(safe_name(&long), format!("{}.pdf", "a".repeat(195)));
    }

    #[test]
    fn alternatives_are_numbered_before_the_extension() {
        assert_eq!(numbered("notes.pdf", 1), "notes (1).pdf");
        assert_eq!(numbered("README", 2), "README (2)");
        assert_eq!(numbered(".x", 1), ".x (1)");
    }

    #[test]
    fn digests_are_lower_case_hex_and_chunks_stop_at_the_end_of_the_file() {
        assert_eq!(hex(&[0x00, 0xab, 0x7f]), "00ab7f");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chunk.bin");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(read_at(&file, 3, 4).unwrap(), b"3456");
        assert_eq!(read_at(&file, 8, 100).unwrap(), b"89");
        assert!(read_at(&file, 20, 4).unwrap().is_empty());
    }

    #[test]
    fn sizes_read_like_people_say_them() {
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1_234_567), "1.2 MB");
        assert_eq!(human_size(200_000_000), "200.0 MB");
        assert_eq!(human_size(1000), "1.0 KB");
        assert_eq!(human_size(999_949), "999.9 KB");
        assert_eq!(human_size(999_950), "1.0 MB");
        assert_eq!(human_size(u64::MAX), "18446744.1 TB");
    }
}
