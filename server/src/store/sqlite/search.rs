//! The SQLite store's search index: an FTS5 table kept beside the messages.
//!
//! Indexing a text costs a third to a half of what storing and delivering it
//! does (`search_index_instr` against `dm_instr` in docs/BENCHMARKS.md), so it
//! is kept off each message's path: `append` only notes that a conversation
//! has something new, and the hub has the new texts indexed in bulk when it is
//! idle and before each search ([`SearchIndex::catch_up`]). Each conversation
//! has a mark, the highest sequence number indexed, kept in `search_marks`
//! with the index, in the same transactions. Edits, deletions and deleted
//! conversations change the index at once (they are rare), for the messages
//! below the mark; those above it are read as they are when indexed.
//!
//! The table is contentless (`content=''`): it keeps the words, not a second
//! copy of each text. It keeps which messages have a word, not where in them
//! (`detail=none`): a search asks for words, never phrases, and the index is
//! smaller and about a tenth cheaper to fill. It keeps no count of words per
//! message (`columnsize=0`: a search orders by time, never by rank), which
//! saves a row of a second table per message, about a fifth of indexing one.
//! Without those counts FTS5 cannot delete a row by its id alone: it is told
//! the text it indexed, which `messages` still holds when a message is edited,
//! erased or its conversation deleted ([`unindex`]). With `secure-delete` a
//! deleted message's words leave the index, not only its results. A row's id
//! is its conversation's id in the high 32 bits and its sequence number in the
//! low 32.

use std::collections::{BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension, params};

use super::{first_id, id_at, key, seq, sql_seq};
use crate::store::{ConvId, MessageKind, Result};

/// The index (schema version 7), a literal for `concat!`.
macro_rules! table {
    () => {
        "
CREATE VIRTUAL TABLE search USING fts5(
    body, content='', columnsize=0, detail=none,
    tokenize='unicode61 remove_diacritics 2'
);
INSERT INTO search (search, rank) VALUES ('secure-delete', 1);
"
    };
}

/// The index and its marks, for a database without them.
pub const SCHEMA: &str = concat!(
    table!(),
    "
CREATE TABLE search_marks (
    conv_id     INTEGER PRIMARY KEY,
    seq         INTEGER NOT NULL
);
"
);

/// From schema 6, whose index kept each message's word count
/// (`contentless_delete=1`): a new index, filled again from the start as the
/// hub catches up.
pub const FROM_SCHEMA_6: &str = concat!("DROP TABLE search; DELETE FROM search_marks;", table!());

/// What the store knows of its index, and the changes of the open
/// transaction, applied when it commits.
#[derive(Debug, Default)]
pub struct SearchIndex {
    /// Each conversation's highest sequence number indexed (committed).
    marks: HashMap<ConvId, u64>,
    /// Conversations that may have texts above their mark. Ordered, so that
    /// catching up goes through them in a stable order.
    behind: BTreeSet<ConvId>,
    /// The open transaction's new marks (`None`: the conversation is gone).
    staged: Vec<(ConvId, Option<u64>)>,
    /// Conversations the open transaction indexed to their end.
    caught_up: Vec<ConvId>,
}

impl SearchIndex {
    /// The index as the database has it, given each conversation's last
    /// sequence number.
    pub fn load(conn: &Connection, last: impl Iterator<Item = (ConvId, u64)>) -> Result<Self> {
        let marks: HashMap<ConvId, u64> = conn
            .prepare("SELECT conv_id, seq FROM search_marks")?
            .query_map([], |r| Ok((ConvId(r.get(0)?), seq(r.get(1)?))))?
            .collect::<rusqlite::Result<_>>()?;
        let behind = last
            .filter(|(conv, last)| marks.get(conv).copied().unwrap_or(0) < *last)
            .map(|(conv, _)| conv)
            .collect();
        Ok(Self {
            marks,
            behind,
            ..Self::default()
        })
    }

    /// A text was appended to `conv` (in the open transaction).
    pub fn appended(&mut self, conv: ConvId) {
        self.behind.insert(conv);
        if !self.caught_up.is_empty() {
            self.caught_up.retain(|c| *c != conv);
        }
    }

    pub fn is_behind(&self) -> bool {
        self.behind.iter().any(|c| !self.caught_up.contains(c))
    }

    /// How far `conv` is indexed, the open transaction included.
    fn mark(&self, conv: ConvId) -> u64 {
        match self.staged.iter().rev().find(|(c, _)| *c == conv) {
            Some((_, mark)) => mark.unwrap_or(0),
            None => self.marks.get(&conv).copied().unwrap_or(0),
        }
    }

    /// Message `seq` of `conv` is about to read `body`: called before
    /// `messages` changes.
    pub fn editing(&self, conn: &Connection, conv: ConvId, seq: u64, body: &str) -> Result<()> {
        if let Some(key) = self.erasing(conn, conv, seq)? {
            conn.prepare_cached("INSERT INTO search (rowid, body) VALUES (?1, ?2)")?
                .execute(params![key, body])?;
        }
        Ok(())
    }

    /// Message `seq` of `conv` is about to be erased: called before
    /// `messages` changes. Answers the row it had in the index, if any.
    pub fn erasing(&self, conn: &Connection, conv: ConvId, seq: u64) -> Result<Option<i64>> {
        let Some(key) = key(conv, seq).filter(|_| seq <= self.mark(conv)) else {
            return Ok(None);
        };
        let body: Option<String> = conn
            .prepare_cached("SELECT body FROM messages WHERE id = ?1 AND kind = ?2")?
            .query_row(params![key, MessageKind::Text as i64], |r| r.get(0))
            .optional()?;
        match body {
            Some(body) => {
                unindex(conn, key, &body)?;
                Ok(Some(key))
            }
            None => Ok(None),
        }
    }

    /// `conv` is about to be deleted, its messages with it.
    pub fn dropping(&mut self, conn: &Connection, conv: ConvId) -> Result<()> {
        // What is indexed: the conversation's texts up to its mark (row ids
        // are the index's keys; see [`key`]).
        if let Some(first) = first_id(conv) {
            let upto = key(conv, self.mark(conv).min(u64::from(u32::MAX))).unwrap_or(first);
            let mut indexed = conn.prepare_cached(
                "SELECT id, body FROM messages WHERE id > ?1 AND id <= ?2 AND kind = ?3",
            )?;
            let mut rows = indexed.query(params![first, upto, MessageKind::Text as i64])?;
            while let Some(row) = rows.next()? {
                unindex(conn, row.get(0)?, &row.get::<_, String>(1)?)?;
            }
        }
        conn.prepare_cached("DELETE FROM search_marks WHERE conv_id = ?1")?
            .execute([conv.0])?;
        self.staged.push((conv, None));
        self.caught_up.push(conv);
        Ok(())
    }

    /// Indexes what was stored since each conversation's mark, reading about
    /// `budget` messages at most; answers whether some are left. A failure
    /// undoes only this (a savepoint), not the rest of the transaction.
    pub fn catch_up(&mut self, conn: &Connection, budget: usize) -> Result<bool> {
        let (staged, caught_up) = (self.staged.len(), self.caught_up.len());
        conn.execute_batch("SAVEPOINT search_catch_up")?;
        match self.index(conn, budget) {
            Ok(()) => {
                conn.execute_batch("RELEASE search_catch_up")?;
                Ok(self.is_behind())
            }
            Err(e) => {
                self.staged.truncate(staged);
                self.caught_up.truncate(caught_up);
                conn.execute_batch("ROLLBACK TO search_catch_up; RELEASE search_catch_up")?;
                Err(e)
            }
        }
    }

    fn index(&mut self, conn: &Connection, budget: usize) -> Result<()> {
        let mut left = budget as u64;
        let todo: Vec<ConvId> = self
            .behind
            .iter()
            .filter(|c| !self.caught_up.contains(c))
            .copied()
            .collect();
        let mut last = conn.prepare_cached(
            "SELECT seq FROM messages WHERE id >= ?1 AND id < ?2 ORDER BY id DESC LIMIT 1",
        )?;
        // The texts go from table to index inside SQLite, one statement a
        // conversation: nothing is copied out and back per message.
        let mut insert = conn.prepare_cached(
            "INSERT INTO search (rowid, body)
             SELECT id, body FROM messages WHERE id > ?1 AND id <= ?2 AND kind = ?3",
        )?;
        let mut save = conn.prepare_cached(
            "INSERT INTO search_marks (conv_id, seq) VALUES (?1, ?2)
             ON CONFLICT (conv_id) DO UPDATE SET seq = excluded.seq",
        )?;
        for conv in todo {
            if left == 0 {
                break;
            }
            let from = self.mark(conv);
            // Sequence numbers have no holes: the next `left` of them are
            // at most `left` messages.
            let end = match first_id(conv) {
                Some(first) => last
                    .query_row([first, id_at(first, u64::MAX)], |r| r.get::<_, i64>(0))
                    .optional()?
                    .map_or(0, seq),
                None => 0,
            };
            let upto = end.min(from.saturating_add(left));
            if upto <= from {
                self.caught_up.push(conv);
                continue;
            }
            // What a row id cannot hold is not indexed (see [`key`]).
            let keyed = if key(conv, 1).is_some() {
                upto.min(u64::from(u32::MAX))
            } else {
                from
            };
            if let (true, Some(after), Some(upto)) =
                (keyed > from, key(conv, from), key(conv, keyed))
            {
                insert.execute(params![after, upto, MessageKind::Text as i64])?;
            }
            save.execute(params![conv.0, sql_seq(upto)])?;
            self.staged.push((conv, Some(upto)));
            if upto == end {
                self.caught_up.push(conv);
            }
            left -= upto - from;
        }
        Ok(())
    }

    /// The open transaction is committed.
    pub fn committed(&mut self) {
        for (conv, mark) in self.staged.drain(..) {
            match mark {
                Some(mark) => self.marks.insert(conv, mark),
                None => self.marks.remove(&conv),
            };
        }
        for conv in self.caught_up.drain(..) {
            self.behind.remove(&conv);
        }
    }

    /// The open transaction is rolled back.
    pub fn rolled_back(&mut self) {
        self.staged.clear();
        self.caught_up.clear();
    }
}

/// Takes row `key`, indexed from `body`, out of the index. FTS5 finds the
/// entries to remove from the words of the text it is given, so `body` must be
/// what was indexed: `messages` holds it until it changes.
fn unindex(conn: &Connection, key: i64, body: &str) -> Result<()> {
    conn.prepare_cached("INSERT INTO search (search, rowid, body) VALUES ('delete', ?1, ?2)")?
        .execute(params![key, body])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use classchat_common::{GroupName, MessageId, Timestamp, Username};
    use rusqlite::Connection;

    use crate::store::search::Query;
    use crate::store::sqlite::{SqliteStore, SyncLevel};
    use crate::store::{ConvId, ConvKind, MessageKind, NewMessage, Rules, Store, UserId};

    fn text(store: &mut SqliteStore, conv: ConvId, seq: u64, body: &str) {
        let msg = NewMessage {
            conv,
            seq,
            id: MessageId::new(),
            sender: UserId(1),
            ts: Timestamp::from_millis(1_000 + i64::try_from(seq).unwrap()),
            kind: MessageKind::Text,
            body,
            refers: None,
        };
        store.append(&msg).unwrap();
    }

    fn found(store: &SqliteStore, words: &str, conv: ConvId) -> Vec<u64> {
        let query = Query::parse(words).unwrap();
        let reader = store.reader();
        let rows = reader.search(&query, &[conv], None, 100).unwrap();
        rows.into_iter().map(|(_, m)| m.seq).collect()
    }

    fn group(store: &mut SqliteStore, name: &str) -> ConvId {
        let kind = ConvKind::Group {
            name: GroupName::new(name).unwrap(),
            owner: UserId(1),
            rules: Rules::default(),
        };
        store.create_conv(&kind, Timestamp::from_millis(1)).unwrap()
    }

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = SqliteStore::open(dir.path(), SyncLevel::Normal).unwrap();
        store.load().await.unwrap();
        store
            .create_user(
                &Username::new("alice").unwrap(),
                "x",
                Timestamp::from_millis(1),
            )
            .unwrap();
        (dir, store)
    }

    /// Catching up goes a budget at a time, keeps its place across a
    /// reopening, and a rolled-back catch-up is done again.
    #[tokio::test]
    async fn the_index_catches_up_in_steps_and_keeps_its_place() {
        let (dir, mut store) = store().await;
        let lab = group(&mut store, "lab");
        for seq in 1..=5 {
            text(&mut store, lab, seq, &format!("note {seq}"));
        }
        store.commit().await.unwrap();
        assert!(store.search_backlog());
        assert_eq!(found(&store, "note", lab), Vec::<u64>::new());

        assert!(store.index_for_search(2).unwrap(), "some are left");
        store.rollback().await.unwrap();
        assert!(store.index_for_search(2).unwrap());
        store.commit().await.unwrap();
        assert_eq!(found(&store, "note", lab), [2, 1]);
        drop(store);

        let mut store = SqliteStore::open(dir.path(), SyncLevel::Normal).unwrap();
        store.load().await.unwrap();
        assert!(store.search_backlog(), "the place is kept");
        assert!(!store.index_for_search(10).unwrap());
        store.commit().await.unwrap();
        assert!(!store.search_backlog());
        assert_eq!(found(&store, "note", lab), [5, 4, 3, 2, 1]);
    }

    /// A deleted group's words leave the index, so a group given its id
    /// later finds only its own messages.
    #[tokio::test]
    async fn a_deleted_group_leaves_nothing_for_the_next_to_find() {
        let (_dir, mut store) = store().await;
        let old = group(&mut store, "old");
        text(&mut store, old, 1, "secret plans");
        text(&mut store, old, 2, "more secret plans");
        store.index_for_search(10).unwrap();
        store.commit().await.unwrap();
        assert_eq!(found(&store, "secret", old), [2, 1]);

        store.delete_conv(old).unwrap();
        let new = group(&mut store, "new");
        assert_eq!(new, old, "SQLite gives the highest id again");
        text(&mut store, new, 1, "public plans");
        store.index_for_search(10).unwrap();
        store.commit().await.unwrap();
        assert_eq!(found(&store, "secret", new), Vec::<u64>::new());
        assert_eq!(found(&store, "plans", new), [1]);
    }

    /// A database of schema 6 had an index that counted each message's words:
    /// it opens with a new index, filled again as the hub catches up.
    #[tokio::test]
    async fn a_schema_6_index_is_made_again() {
        let (dir, mut store) = store().await;
        let lab = group(&mut store, "lab");
        text(&mut store, lab, 1, "old words");
        text(&mut store, lab, 2, "older words");
        store.index_for_search(10).unwrap();
        store.commit().await.unwrap();
        drop(store);
        let conn = Connection::open(dir.path().join("classchat.db")).unwrap();
        conn.execute_batch(
            "BEGIN; DROP TABLE search;
             CREATE VIRTUAL TABLE search USING fts5(
                 body, content='', contentless_delete=1, detail=none,
                 tokenize='unicode61 remove_diacritics 2'
             );
             INSERT INTO search (rowid, body) VALUES ((1 << 32) | 1, 'old words');
             PRAGMA user_version=6; COMMIT;",
        )
        .unwrap();
        drop(conn);

        let mut store = SqliteStore::open(dir.path(), SyncLevel::Normal).unwrap();
        store.load().await.unwrap();
        assert!(store.search_backlog(), "everything is indexed again");
        assert_eq!(found(&store, "words", lab), Vec::<u64>::new());
        assert!(!store.index_for_search(10).unwrap());
        store.commit().await.unwrap();
        assert_eq!(found(&store, "words", lab), [2, 1]);
        store
            .edit_message(lab, 1, "new text", Timestamp::from_millis(9))
            .unwrap();
        store.erase_message(lab, 2).unwrap();
        store.commit().await.unwrap();
        assert_eq!(found(&store, "words", lab), Vec::<u64>::new());
        assert_eq!(found(&store, "new", lab), [1]);
    }

    /// A message appended after its conversation was caught up, in the same
    /// transaction, is still indexed later.
    #[tokio::test]
    async fn a_text_stored_after_a_catch_up_in_the_same_batch_is_not_lost() {
        let (_dir, mut store) = store().await;
        let lab = group(&mut store, "lab");
        text(&mut store, lab, 1, "first");
        store.index_for_search(10).unwrap();
        text(&mut store, lab, 2, "second");
        store.commit().await.unwrap();
        assert!(store.search_backlog());
        store.index_for_search(10).unwrap();
        store.commit().await.unwrap();
        assert_eq!(found(&store, "second", lab), [2]);
    }
}
