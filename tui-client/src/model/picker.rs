//! The file picker of `/sendfile`: one folder's entries, a filter typed over
//! them, and the chosen row. [`load`] reads a folder (local and quick; the only
//! I/O, done by `update` when the folder changes, never by the view).

use std::io;
use std::path::{Path, PathBuf};

use super::Field;
use crate::text::fuzzy_score;
use classchat_common::Conv;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `..`: the folder above.
    Up,
    Folder,
    File,
}

/// One row of a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub name: String,
    pub kind: Kind,
    /// Bytes, for files.
    pub size: u64,
}

impl Item {
    pub fn hidden(&self) -> bool {
        self.kind != Kind::Up && self.name.starts_with('.')
    }
}

/// `..` (unless `dir` is the root), then folders, then files, each in name order
/// regardless of case. Entries that cannot be looked at are left out.
pub fn load(dir: &Path) -> io::Result<Vec<Item>> {
    let mut items = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        // Follows links, so a link to a folder opens like a folder.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy().into_owned();
        let (kind, size) = if meta.is_dir() {
            (Kind::Folder, 0)
        } else {
            (Kind::File, meta.len())
        };
        items.push(Item { name, kind, size });
    }
    items.sort_by(|a, b| {
        (a.kind, a.name.to_lowercase(), &a.name).cmp(&(b.kind, b.name.to_lowercase(), &b.name))
    });
    if dir.parent().is_some() {
        items.insert(
            0,
            Item {
                name: "..".into(),
                kind: Kind::Up,
                size: 0,
            },
        );
    }
    Ok(items)
}

#[derive(Debug)]
pub struct Picker {
    /// Who the chosen file goes to.
    pub to: Conv,
    pub dir: PathBuf,
    /// Everything in `dir`; [`Picker::visible`] applies the filter.
    pub items: Vec<Item>,
    /// Why `dir` could not be read, if it could not.
    pub error: Option<String>,
    pub filter: Field,
    /// Index into what is visible.
    pub selected: usize,
}

impl Picker {
    /// A picker on `dir` for sending to `to`.
    pub fn open(to: Conv, dir: &Path) -> Self {
        let mut picker = Picker {
            to,
            dir: PathBuf::new(),
            items: Vec::new(),
            error: None,
            filter: filter_area(),
            selected: 0,
        };
        picker.go(dir.to_path_buf());
        picker
    }

    /// Shows `dir`, with the filter cleared.
    /// Into the parent folder, if there is one.
    pub fn go_up(&mut self) {
        if let Some(up) = self.dir.parent().map(Path::to_path_buf) {
            self.go(up);
        }
    }

    pub fn go(&mut self, dir: PathBuf) {
        match load(&dir) {
            Ok(items) => {
                self.items = items;
                self.error = None;
            }
            Err(e) => {
                self.items = Vec::new();
                self.error = Some(e.to_string());
            }
        }
        self.dir = dir;
        self.selected = 0;
        self.filter = filter_area();
    }

    pub fn query(&self) -> String {
        self.filter.text()
    }

    /// The rows the filter lets through, best first. Hidden entries show only
    /// when the filter starts with `.`; `..` only while there is no filter.
    pub fn visible(&self) -> Vec<&Item> {
        let query = self.query().to_lowercase();
        if self.typed(None).is_some() {
            return Vec::new();
        }
        if query.is_empty() {
            return self.items.iter().filter(|i| !i.hidden()).collect();
        }
        let dotted = query.starts_with('.');
        let mut scored: Vec<(usize, usize, &Item)> = self
            .items
            .iter()
            .enumerate()
            .filter(|(_, i)| i.kind != Kind::Up && (dotted || !i.hidden()))
            .filter_map(|(order, i)| {
                fuzzy_score(&i.name.to_lowercase(), &query).map(|s| (s, order, i))
            })
            .collect();
        // Whole-substring matches before scattered letters; folders first in each.
        scored.sort_by_key(|(score, order, _)| (*score >= 100, *order, *score));
        scored.into_iter().map(|(_, _, i)| i).collect()
    }

    pub fn chosen(&self) -> Option<&Item> {
        self.visible().get(self.selected).copied()
    }

    /// The filter read as a path, when it looks like one (`/…`, `~…`, `./…`,
    /// `../…`): Enter then goes there, or sends the file it names.
    pub fn typed(&self, home: Option<&Path>) -> Option<PathBuf> {
        let query = self.query();
        let query = query.trim();
        let path_like = ["/", "~", "./", "../"]
            .iter()
            .any(|start| query.starts_with(start));
        path_like.then(|| self.dir.join(crate::layout::files::typed_path(query, home)))
    }
}

fn filter_area() -> Field {
    Field::new("type to filter")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(p: &mut Picker, text: &str) {
        p.filter = filter_area().holding(text);
    }

    fn names(p: &Picker) -> Vec<String> {
        p.visible().iter().map(|i| i.name.clone()).collect()
    }

    #[test]
    fn folders_come_first_hidden_files_wait_for_a_dot_and_the_filter_ignores_case() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Lectures")).unwrap();
        for f in ["b.txt", "A.pdf", ".secret"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        let mut p = Picker::open("bob".parse().unwrap(), dir.path());
        assert_eq!(names(&p), ["..", "Lectures", "A.pdf", "b.txt"]);
        set(&mut p, "T");
        assert_eq!(names(&p), ["Lectures", "b.txt"]);
        set(&mut p, ".s");
        assert_eq!(names(&p), [".secret"]);
        set(&mut p, "bt");
        assert_eq!(names(&p), ["b.txt"], "letters in order match too");
    }

    #[test]
    fn a_folder_that_cannot_be_read_says_why() {
        let p = Picker::open("bob".parse().unwrap(), Path::new("/no/such/folder"));
        assert!(p.error.is_some());
        assert!(p.visible().is_empty());
    }
}
