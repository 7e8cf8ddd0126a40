//! Sign-up limited to a roster (`--roster FILE`): only the names it lists may
//! create an account.
//!
//! The file holds one name per line; blank lines and lines starting with `#`
//! are skipped, and names compare as account names do, ignoring case. It is
//! checked when the server starts (a name that breaks the naming rules stops it
//! there, with the line) and read again at every sign-up, so a name added while
//! the server runs counts at once. Accounts that exist are not affected: the
//! roster decides who may join, not who may log in.

use std::path::{Path, PathBuf};

use classchat_common::Username;

#[derive(Debug, thiserror::Error)]
pub enum RosterError {
    #[error("cannot read the roster {path}: {cause}")]
    Read { path: String, cause: std::io::Error },
    #[error("the roster {path}, line {line}: {cause}")]
    Name {
        path: String,
        line: usize,
        cause: classchat_common::NameError,
    },
}

#[derive(Debug, Clone)]
pub struct Roster {
    path: PathBuf,
}

impl Roster {
    /// Checks the file once; answers the roster and how many names it lists.
    pub fn open(path: PathBuf) -> Result<(Self, usize), RosterError> {
        let text = std::fs::read_to_string(&path).map_err(|cause| read_error(&path, cause))?;
        let mut count = 0;
        for (line, name) in entries(&text) {
            name.map_err(|cause| RosterError::Name {
                path: path.display().to_string(),
                line,
                cause,
            })?;
            count += 1;
        }
        Ok((Self { path }, count))
    }

    /// Whether `name` may create an account, from the file as it is now. A line
    /// that became invalid since the start is skipped (and logged), not fatal.
    pub async fn admits(&self, name: &Username) -> Result<bool, RosterError> {
        let text = tokio::fs::read_to_string(&self.path)
            .await
            .map_err(|cause| read_error(&self.path, cause))?;
        let key = name.key();
        let mut found = false;
        for (line, entry) in entries(&text) {
            match entry {
                Ok(listed) => found |= listed.key() == key,
                Err(cause) => tracing::warn!(
                    roster = %self.path.display(),
                    line,
                    "skipping a name that breaks the naming rules: {cause}"
                ),
            }
        }
        Ok(found)
    }
}

fn read_error(path: &Path, cause: std::io::Error) -> RosterError {
    RosterError::Read {
        path: path.display().to_string(),
        cause,
    }
}

/// The names in `text` with their line numbers (from 1), skipping blank lines
/// and comments.
fn entries(
    text: &str,
) -> impl Iterator<Item = (usize, Result<Username, classchat_common::NameError>)> + '_ {
    text.lines()
        .enumerate()
        .map(|(i, line)| (i + 1, line.trim()))
        .filter(|(_, line)| !line.is_empty() && !line.starts_with('#'))
        .map(|(n, line)| (n, line.parse::<Username>()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("roster.txt");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    fn name(s: &str) -> Username {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn names_are_one_per_line_ignoring_case_blank_lines_and_comments() {
        let (_dir, path) = write("# CS 101, autumn\n\nalice\n  Bob  \r\n# carol left\n");
        let (roster, count) = Roster::open(path).unwrap();
        assert_eq!(count, 2);
        assert!(roster.admits(&name("alice")).await.unwrap());
        assert!(
            roster.admits(&name("BOB")).await.unwrap(),
            "case is ignored"
        );
        assert!(
            !roster.admits(&name("carol")).await.unwrap(),
            "a comment is not a name"
        );
        assert!(!roster.admits(&name("mallory")).await.unwrap());
    }

    #[tokio::test]
    async fn the_file_is_read_again_at_every_sign_up() {
        let (_dir, path) = write("alice\n");
        let (roster, _) = Roster::open(path.clone()).unwrap();
        assert!(!roster.admits(&name("dave")).await.unwrap());
        std::fs::write(&path, "alice\ndave\nnot a name\n").unwrap();
        assert!(
            roster.admits(&name("dave")).await.unwrap(),
            "added while running, and a bad line added since does not hide him"
        );
        std::fs::remove_file(&path).unwrap();
        assert!(
            matches!(
                roster.admits(&name("dave")).await,
                Err(RosterError::Read { .. })
            ),
            "a roster that cannot be read admits nobody"
        );
    }

    #[test]
    fn a_bad_name_or_a_missing_file_stops_the_start_saying_where() {
        let (_dir, path) = write("alice\nbob smith\n");
        let err = Roster::open(path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("bob smith"), "{err}");

        let err = Roster::open(PathBuf::from("/nonexistent/roster.txt"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cannot read the roster /nonexistent/roster.txt"),
            "{err}"
        );
    }
}
