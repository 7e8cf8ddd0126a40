//! The PostgreSQL store (`--store postgres --postgres URL`, in a server built
//! with `--features cluster`).
//!
//! Same contract as SQLite, shaped for a database across a network, where a
//! round trip costs more than a whole SQLite batch:
//!
//! - **Prefetch.** Before a batch is applied the hub hands over what the batch
//!   may ask ([`Wants`]); this store answers it in one pipelined round trip:
//!   which sent ids are stored already (a resend), whether offers no longer in
//!   memory are over, and row ids reserved from the database's sequences for
//!   the accounts, conversations and notices the batch may create.
//! - **Apply.** Write calls are kept, in order, never sent one by one; lookups
//!   answer from the prefetch and from the batch's own writes.
//! - **Commit.** `BEGIN`, the writes (a batch's messages as one multi-row
//!   `INSERT … SELECT FROM unnest(…)`, its cursors as one `UPDATE`, each
//!   conversation's new `last_seq` as one more), `COMMIT` — pipelined on one
//!   connection, so one round trip plus the WAL flush. `synchronous_commit` is
//!   on: `stored` is said only once PostgreSQL has the batch on disk.
//!
//! A single server holds an advisory lock on its database, and a second
//! server on the same database refuses to start, as a second server on one
//! SQLite data directory does. The nodes of a cluster (`--nats`) share the
//! database: each holds that lock shared (so a single server cannot start
//! beside them) and one of its own node id (so two nodes with one id cannot
//! run). A node's batch also locks, in its prefetch, the rows of the
//! conversations it adds to (`SELECT … ORDER BY id FOR UPDATE`, in one
//! statement so nodes never deadlock) until its commit: whoever numbers the
//! next message of a conversation sees the last number, and commit order is
//! sequence order. What other nodes stored in those conversations since this
//! node last heard comes back with the prefetch ([`Learned::missed`]).

use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use classchat_common::protocol::FileState;
use classchat_common::{GroupName, MessageId, OfferId, Timestamp, Username};
use deadpool_postgres::{Pool, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement};

use crate::idmap::IdMap;

use super::client_key::{ClientKeys, ClientMap, ClientSet};
use super::search::{Cursor, Query};
use super::{
    Appended, ConvFetch, ConvId, ConvKind, ConvRecord, FileRecord, Learned, MemberRecord,
    MessageKind, MessageRef, NewMessage, NoticeRecord, OfferOutcome, Pending, Quoted, Reader,
    Result, Rules, Snapshot, Store, StoreError, StoredMessage, Target, TokenHash, UserId,
    UserRecord, Wants,
};

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::Engine(Box::new(e))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::Engine(Box::new(e))
    }
}

/// The advisory lock a server's writer holds on its database ("ClassChat" in ASCII).
const WRITER_LOCK: i64 = 0x436c_6173_7343_6861;
/// The first key of a node id's advisory lock (the second is the id's hash).
const NODE_LOCK: i32 = 0x4363_4e64;
/// The first key of the advisory locks claiming a name a batch may create
/// (the second is the claim's hash).
const CLAIM_LOCK: i32 = 0x4363_436c;

/// Each schema version's statements, applied in order; the version reached is
/// kept in `classchat_meta`.
const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite's schema 3 holds, plus each conversation's last
    // sequence number, which several nodes will lock to number messages.
    "
CREATE TABLE users (
    id          bigint PRIMARY KEY,
    name        text   NOT NULL,
    pw_hash     text   NOT NULL,
    created_at  bigint NOT NULL,
    last_seen   bigint
);
CREATE UNIQUE INDEX users_name ON users (lower(name));
CREATE SEQUENCE users_ids;
CREATE TABLE tokens (
    hash        bytea  PRIMARY KEY,
    user_id     bigint NOT NULL,
    created_at  bigint NOT NULL
);
CREATE INDEX tokens_by_user ON tokens (user_id);
CREATE TABLE convs (
    id          bigint PRIMARY KEY,
    dm_a        bigint,
    dm_b        bigint,
    group_name  text,
    owner_id    bigint,
    created_at  bigint NOT NULL,
    last_seq    bigint NOT NULL DEFAULT 0,
    last_ts     bigint,
    UNIQUE (dm_a, dm_b)
);
CREATE UNIQUE INDEX convs_group ON convs (lower(group_name)) WHERE group_name IS NOT NULL;
CREATE SEQUENCE convs_ids;
CREATE TABLE members (
    conv_id       bigint NOT NULL,
    user_id       bigint NOT NULL,
    joined_seq    bigint NOT NULL,
    joined_at     bigint NOT NULL,
    delivered_seq bigint NOT NULL,
    read_seq      bigint NOT NULL,
    PRIMARY KEY (conv_id, user_id)
);
CREATE INDEX members_by_user ON members (user_id);
CREATE TABLE messages (
    conv_id     bigint   NOT NULL,
    seq         bigint   NOT NULL,
    client_id   bytea    NOT NULL,
    sender_id   bigint   NOT NULL,
    ts          bigint   NOT NULL,
    kind        smallint NOT NULL,
    body        text     NOT NULL,
    PRIMARY KEY (conv_id, seq)
);
CREATE UNIQUE INDEX messages_by_client_id ON messages (sender_id, client_id);
CREATE TABLE files (
    id          bytea   PRIMARY KEY,
    conv_id     bigint  NOT NULL,
    sender_id   bigint  NOT NULL,
    name        text    NOT NULL,
    size        bigint  NOT NULL,
    sha256      text    NOT NULL,
    created_at  bigint  NOT NULL,
    expires_at  bigint  NOT NULL,
    seq         bigint  NOT NULL,
    closed      boolean NOT NULL DEFAULT false
);
CREATE INDEX files_by_conv ON files (conv_id);
CREATE TABLE file_recipients (
    file_id     bytea    NOT NULL,
    user_id     bigint   NOT NULL,
    state       smallint NOT NULL,
    PRIMARY KEY (file_id, user_id)
);
CREATE TABLE notices (
    id          bigint PRIMARY KEY,
    user_id     bigint NOT NULL,
    group_name  text   NOT NULL,
    seq         bigint NOT NULL,
    line        text   NOT NULL
);
CREATE INDEX notices_by_user ON notices (user_id);
CREATE SEQUENCE notices_ids;
",
    // 2: which node of a cluster holds an offer's bytes (NULL: a single server).
    "ALTER TABLE files ADD COLUMN node text;",
    // 3: how groups are run (SQLite's schema 4).
    "
ALTER TABLE convs ADD COLUMN access smallint NOT NULL DEFAULT 0;
ALTER TABLE convs ADD COLUMN posting smallint NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN moderator boolean NOT NULL DEFAULT false;
CREATE TABLE bans (
    conv_id     bigint NOT NULL,
    user_id     bigint NOT NULL,
    PRIMARY KEY (conv_id, user_id)
);
",
    // 4: replies, edits and deletions, and pinned messages (SQLite's schema 5).
    "
ALTER TABLE messages ADD COLUMN refers bigint;
ALTER TABLE messages ADD COLUMN edited_at bigint;
CREATE TABLE pins (
    id          bigserial PRIMARY KEY,
    conv_id     bigint NOT NULL,
    seq         bigint NOT NULL,
    UNIQUE (conv_id, seq)
);
CREATE TABLE reactions (
    id          bigserial PRIMARY KEY,
    conv_id     bigint NOT NULL,
    seq         bigint NOT NULL,
    user_id     bigint NOT NULL,
    emoji       text   NOT NULL,
    UNIQUE (conv_id, seq, user_id, emoji)
);
",
    // 5: search: text messages' words (`simple`: every word as written,
    // lowercased, no stemming, as SQLite's index and the memory store find
    // them). GIN's pending list keeps the insert cheap.
    "
CREATE INDEX messages_search ON messages USING gin (to_tsvector('simple', body)) WHERE kind = 0;
",
];

/// A parameter of a kept write.
type Param = Box<dyn ToSql + Sync + Send>;

/// A write kept for the batch's commit.
enum Write {
    One(&'static str, Vec<Param>),
    /// Messages appended one after another, inserted with one statement.
    Messages(Rows),
}

/// A batch's messages, column by column, as `unnest` takes them.
#[derive(Default)]
struct Rows {
    conv: Vec<i64>,
    seq: Vec<i64>,
    client: Vec<Vec<u8>>,
    sender: Vec<i64>,
    ts: Vec<i64>,
    kind: Vec<i16>,
    body: Vec<String>,
    refers: Vec<Option<i64>>,
}

const INSERT_MESSAGES: &str = "
INSERT INTO messages (conv_id, seq, client_id, sender_id, ts, kind, body, refers)
SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bytea[], $4::bigint[], $5::bigint[],
                     $6::smallint[], $7::text[], $8::bigint[])";

const ADVANCE_CONVS: &str = "
UPDATE convs SET last_seq = v.seq, last_ts = v.ts
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS v(id, seq, ts)
WHERE convs.id = v.id AND convs.last_seq < v.seq";

const SET_CURSORS: &str = "
UPDATE members SET delivered_seq = GREATEST(delivered_seq, v.delivered),
                   read_seq = GREATEST(read_seq, v.read)
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[])
     AS v(conv, member, delivered, read)
WHERE members.conv_id = v.conv AND members.user_id = v.member";

/// Row ids taken from the database's sequences ahead of need.
#[derive(Default)]
struct Reserve {
    users: VecDeque<i64>,
    convs: VecDeque<i64>,
    notices: VecDeque<i64>,
}

pub struct PostgresStore {
    url: String,
    /// This node's id, in a cluster.
    node: Option<String>,
    /// Whether the prefetch opened the batch's transaction (it locked rows).
    in_tx: bool,
    writer: Client,
    statements: HashMap<&'static str, Statement>,
    writes: Vec<Write>,
    /// Cursors to write at commit: (conv, user) → (delivered, read).
    cursors: IdMap<(i64, i64), (i64, i64)>,
    /// Each conversation's highest sequence number written by the batch.
    advanced: IdMap<i64, (i64, i64)>,
    /// Sent ids known to be stored: found by the prefetch, or appended by
    /// this batch.
    known: ClientMap<MessageRef>,
    /// The ids the prefetch looked for, found or not.
    looked_up: ClientSet,
    client_keys: ClientKeys,
    /// Messages replies, edits and deletions refer to: prefetched, or
    /// written by this batch; `None` for one looked for and not found.
    targets: HashMap<(i64, u64), Option<Target>>,
    /// Whether offers the prefetch looked up are over (absent: never existed).
    closed: HashMap<OfferId, bool>,
    reserve: Reserve,
    reader: Arc<PostgresReader>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("writes", &self.writes.len())
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (a `postgresql://` URL or
    /// `key=value` settings), brings its schema up to date and takes it for
    /// this server.
    pub async fn open(url: &str, node: Option<&str>) -> Result<Self> {
        let writer = connect_writer(url, node).await?;
        migrate(&writer).await?;
        let mut config = deadpool_postgres::Config::new();
        config.url = Some(url.to_owned());
        let pool = config
            .create_pool(Some(Runtime::Tokio1), NoTls)
            .map_err(|e| StoreError::Engine(Box::new(e)))?;
        let runtime = tokio::runtime::Handle::current();
        Ok(Self {
            url: url.to_owned(),
            node: node.map(str::to_owned),
            in_tx: false,
            writer,
            statements: HashMap::new(),
            writes: Vec::new(),
            cursors: IdMap::default(),
            advanced: IdMap::default(),
            known: ClientMap::default(),
            looked_up: ClientSet::default(),
            client_keys: ClientKeys::default(),
            targets: HashMap::new(),
            closed: HashMap::new(),
            reserve: Reserve::default(),
            reader: Arc::new(PostgresReader { pool, runtime }),
        })
    }

    /// A writer whose connection dropped (PostgreSQL restarted, the network
    /// failed) connects again before the next batch; until then batches fail
    /// with `storage_failed` and nothing is acknowledged.
    async fn writer(&mut self) -> Result<&Client> {
        if self.writer.is_closed() {
            tracing::warn!("the connection to PostgreSQL was lost; connecting again");
            self.writer = connect_writer(&self.url, self.node.as_deref()).await?;
            self.statements.clear();
            self.in_tx = false;
        }
        Ok(&self.writer)
    }

    async fn statement(&mut self, sql: &'static str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.writer.prepare(sql).await?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }

    fn keep(&mut self, sql: &'static str, params: Vec<Param>) {
        self.writes.push(Write::One(sql, params));
    }

    fn forget_batch(&mut self) {
        self.writes.clear();
        self.cursors.clear();
        self.advanced.clear();
        self.known.clear();
        self.looked_up.clear();
        self.targets.clear();
        self.closed.clear();
    }

    async fn lookup(&mut self, wants: &Wants) -> Result<Learned> {
        self.writer().await?;
        if std::mem::take(&mut self.in_tx) {
            // A batch that failed after locking and was not rolled back.
            self.writer.batch_execute("ROLLBACK").await?;
        }
        let find = self
            .statement(
                "SELECT m.sender_id, m.client_id, m.conv_id, m.seq, m.ts
                 FROM messages m JOIN unnest($1::bigint[], $2::bytea[]) AS w(sender, client)
                   ON m.sender_id = w.sender AND m.client_id = w.client",
            )
            .await?;
        let offers = self
            .statement(
                "SELECT f.id, f.closed, f.conv_id, f.sender_id, f.name, f.size, f.sha256,
                        f.created_at, f.expires_at, f.seq, f.node,
                        coalesce(array_agg(r.user_id) FILTER (WHERE r.user_id IS NOT NULL), '{}'),
                        coalesce(array_agg(r.state) FILTER (WHERE r.user_id IS NOT NULL), '{}')
                 FROM files f LEFT JOIN file_recipients r ON r.file_id = f.id
                 WHERE f.id = ANY($1::bytea[]) GROUP BY f.id",
            )
            .await?;
        let ids = self
            .statement(
                "SELECT 0, nextval('users_ids') FROM generate_series(1, $1::int)
                 UNION ALL SELECT 1, nextval('convs_ids') FROM generate_series(1, $2::int)
                 UNION ALL SELECT 2, nextval('notices_ids') FROM generate_series(1, $3::int)",
            )
            .await?;
        let users = self
            .statement(
                "SELECT id, name, pw_hash, created_at, last_seen, NULL::bytea FROM users
                 WHERE lower(name) = ANY($1::text[])
                 UNION ALL
                 SELECT u.id, u.name, u.pw_hash, u.created_at, u.last_seen, t.hash
                 FROM tokens t JOIN users u ON u.id = t.user_id WHERE t.hash = ANY($2::bytea[])",
            )
            .await?;
        let lock = self
            .statement(
                "SELECT id, last_seq FROM convs WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
            )
            .await?;
        let claim = self
            .statement(
                "SELECT count(pg_advisory_xact_lock($1::int, h))
                 FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY 1) AS s",
            )
            .await?;
        let made = self
            .statement(
                "SELECT id FROM convs WHERE lower(group_name) = ANY($1::text[])
                 UNION
                 SELECT c.id FROM convs c
                 JOIN users a ON a.id = c.dm_a JOIN users b ON b.id = c.dm_b
                 WHERE lower(a.name) || ' ' || lower(b.name) = ANY($2::text[])",
            )
            .await?;
        let targets = self
            .statement(
                "SELECT m.conv_id, m.seq, m.sender_id, m.kind, m.body
                 FROM messages m JOIN unnest($1::bigint[], $2::bigint[]) AS w(conv, seq)
                   ON m.conv_id = w.conv AND m.seq = w.seq",
            )
            .await?;
        let target_reactions = self
            .statement(
                "SELECT r.conv_id, r.seq, r.user_id, r.emoji
                 FROM reactions r JOIN unnest($1::bigint[], $2::bigint[]) AS w(conv, seq)
                   ON r.conv_id = w.conv AND r.seq = w.seq
                 ORDER BY r.id",
            )
            .await?;
        let ref_convs: Vec<i64> = wants.refs.iter().map(|(c, _)| c.0).collect();
        let ref_seqs: Vec<i64> = wants.refs.iter().map(|(_, s)| sql(*s)).collect();
        let senders: Vec<i64> = wants.messages.iter().map(|(u, _)| u.0).collect();
        let clients: Vec<&[u8]> = wants
            .messages
            .iter()
            .map(|(_, id)| &id.as_bytes()[..])
            .collect();
        let offer_ids: Vec<&[u8]> = wants.offers.iter().map(|o| &o.as_bytes()[..]).collect();
        let names: Vec<String> = wants
            .names
            .iter()
            .map(|n| n.as_str().to_ascii_lowercase())
            .collect();
        let tokens: Vec<&[u8]> = wants.tokens.iter().map(|t| &t[..]).collect();
        let locks: Vec<i64> = wants.locks.iter().map(|(c, _)| c.0).collect();
        let groups: Vec<String> = wants
            .groups
            .iter()
            .map(|g| g.as_str().to_lowercase())
            .collect();
        // Each pair both ways round: which of the two is `dm_a` depends on
        // their ids, which memory may not know yet.
        let pairs: Vec<String> = wants
            .directs
            .iter()
            .map(|(a, b)| (a.key(), b.key()))
            .flat_map(|(a, b)| [format!("{a} {b}"), format!("{b} {a}")])
            .collect();
        // What the batch may create, claimed until its commit: another node
        // making the same account, group or direct conversation waits, then
        // finds it made.
        let claims: Vec<String> = match self.node {
            None => Vec::new(),
            Some(_) => names
                .iter()
                .map(|n| format!("user {n}"))
                .chain(groups.iter().map(|g| format!("group {g}")))
                .chain(wants.directs.iter().map(|(a, b)| {
                    let (a, b) = (a.key(), b.key());
                    format!("direct {} {}", a.clone().min(b.clone()), a.max(b))
                }))
                .collect(),
        };
        let short =
            |want: usize, have: usize| i32::try_from(want.saturating_sub(have)).unwrap_or(0);
        let need = (
            short(wants.users, self.reserve.users.len()),
            short(wants.convs, self.reserve.convs.len()),
            short(wants.notices, self.reserve.notices.len()),
        );
        // Rows are locked only by the nodes of a cluster; a single server is
        // the only writer.
        let locking = self.node.is_some() && !(locks.is_empty() && claims.is_empty());
        let c = &self.writer;
        // Sent together, in this order (see `commit_batch`): one round trip.
        let (_, locked, _, found, over, reserved, known, claimed, referred, reacted) = tokio::try_join!(
            async {
                match locking {
                    true => c.batch_execute("BEGIN").await,
                    false => Ok(()),
                }
            },
            async {
                match locking && !locks.is_empty() {
                    true => c.query(&lock, &[&locks]).await,
                    false => Ok(Vec::new()),
                }
            },
            async {
                match claims.is_empty() {
                    true => Ok(Vec::new()),
                    false => c.query(&claim, &[&CLAIM_LOCK, &claims]).await,
                }
            },
            async {
                match senders.is_empty() {
                    true => Ok(Vec::new()),
                    false => c.query(&find, &[&senders, &clients]).await,
                }
            },
            async {
                match offer_ids.is_empty() {
                    true => Ok(Vec::new()),
                    false => c.query(&offers, &[&offer_ids]).await,
                }
            },
            async {
                match need {
                    (0, 0, 0) => Ok(Vec::new()),
                    (u, v, n) => c.query(&ids, &[&u, &v, &n]).await,
                }
            },
            async {
                match names.is_empty() && tokens.is_empty() {
                    true => Ok(Vec::new()),
                    false => c.query(&users, &[&names, &tokens]).await,
                }
            },
            async {
                match self.node.is_none() || (groups.is_empty() && pairs.is_empty()) {
                    true => Ok(Vec::new()),
                    false => c.query(&made, &[&groups, &pairs]).await,
                }
            },
            async {
                match ref_convs.is_empty() {
                    true => Ok(Vec::new()),
                    false => c.query(&targets, &[&ref_convs, &ref_seqs]).await,
                }
            },
            async {
                match ref_convs.is_empty() {
                    true => Ok(Vec::new()),
                    false => c.query(&target_reactions, &[&ref_convs, &ref_seqs]).await,
                }
            },
        )?;
        for &(conv, at) in &wants.refs {
            self.targets.entry((conv.0, at)).or_insert(None);
        }
        for row in referred {
            let key = (row.try_get::<_, i64>(0)?, seq(row.try_get(1)?));
            let target = Target {
                sender: UserId(row.try_get(2)?),
                kind: MessageKind::from_i64(i64::from(row.try_get::<_, i16>(3)?)),
                body: row.try_get(4)?,
                reactions: Vec::new(),
            };
            self.targets.insert(key, Some(target));
        }
        for row in reacted {
            let key = (row.try_get::<_, i64>(0)?, seq(row.try_get(1)?));
            if let Some(Some(t)) = self.targets.get_mut(&key) {
                t.reactions.push((UserId(row.try_get(2)?), row.try_get(3)?));
            }
        }
        self.in_tx = locking;
        let keys = &self.client_keys;
        self.looked_up.extend(
            wants
                .messages
                .iter()
                .map(|&(sender, id)| keys.key(sender, id)),
        );
        for row in found {
            let sender = UserId(row.try_get(0)?);
            let id = MessageId::from_bytes(bytes16(&row, 1)?);
            let at = MessageRef {
                conv: ConvId(row.try_get(2)?),
                seq: seq(row.try_get(3)?),
                ts: Timestamp::from_millis(row.try_get(4)?),
            };
            self.known.insert(self.client_keys.key(sender, id), at);
        }
        let mut open_offers = Vec::new();
        for row in over {
            let id = OfferId::from_bytes(bytes16(&row, 0)?);
            let closed: bool = row.try_get(1)?;
            self.closed.insert(id, closed);
            // Another node's offer that this one has not heard of yet.
            if !closed && self.node.is_some() {
                let users: Vec<i64> = row.try_get(11)?;
                let states: Vec<i16> = row.try_get(12)?;
                open_offers.push(FileRecord {
                    id,
                    conv: ConvId(row.try_get(2)?),
                    sender: UserId(row.try_get(3)?),
                    name: row.try_get(4)?,
                    size: seq(row.try_get(5)?),
                    sha256: row.try_get(6)?,
                    created: Timestamp::from_millis(row.try_get(7)?),
                    expires: Timestamp::from_millis(row.try_get(8)?),
                    seq: seq(row.try_get(9)?),
                    recipients: users
                        .into_iter()
                        .map(UserId)
                        .zip(states.into_iter().map(state_of))
                        .collect(),
                    node: row
                        .try_get::<_, Option<String>>(10)?
                        .filter(|n| Some(n) != self.node.as_ref()),
                });
            }
        }
        for row in reserved {
            let id: i64 = row.try_get(1)?;
            match row.try_get::<_, i32>(0)? {
                0 => self.reserve.users.push_back(id),
                1 => self.reserve.convs.push_back(id),
                _ => self.reserve.notices.push_back(id),
            }
        }
        let mut learned = Learned {
            offers: open_offers,
            ..Learned::default()
        };
        for row in known {
            let user = user_record(&row)?;
            if let Some(hash) = row.try_get::<_, Option<Vec<u8>>>(5)? {
                let hash: TokenHash = hash
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("a token hash is not 32 bytes".into()))?;
                learned.tokens.push((hash, user.id));
            }
            learned.users.push(user);
        }
        // What other nodes stored in the locked conversations since this
        // node last heard: all committed (their locks came first).
        let mut behind = (Vec::new(), Vec::new(), Vec::new());
        let mut stored: HashMap<i64, i64> = locked
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<Result<_>>()?;
        // Claimed conversations another node made: locked now, read whole.
        let made: Vec<i64> = claimed
            .iter()
            .map(|r| r.try_get(0))
            .collect::<std::result::Result<_, _>>()?;
        let mut wanted = wants.locks.clone();
        if !made.is_empty() {
            for r in self.writer.query(&lock, &[&made]).await? {
                stored.insert(r.try_get(0)?, r.try_get(1)?);
            }
            let mut members = 0;
            for &id in &made {
                if let Some(f) = fetch_conv(&self.writer, ConvId(id)).await? {
                    wanted.push((f.conv.id, 0));
                    members += f.members.len();
                    learned.convs.push(f);
                }
            }
            // The batch counted the notices of groups it knew; one of these
            // may be deleted, leaving a notice for each member.
            let members = i32::try_from(members).unwrap_or(i32::MAX);
            if members > 0 {
                for row in self.writer.query(&ids, &[&0i32, &0i32, &members]).await? {
                    self.reserve.notices.push_back(row.try_get(1)?);
                }
            }
        }
        for &(conv, known) in &wanted {
            match stored.get(&conv.0) {
                None if locking => learned.gone.push(conv),
                Some(&last) if seq(last) > known => {
                    behind.0.push(conv.0);
                    behind.1.push(sql(known));
                    behind.2.push(last);
                }
                _ => {}
            }
        }
        if !behind.0.is_empty() {
            let gap = self.statement(GAP).await?;
            let rows = self
                .writer
                .query(&gap, &[&behind.0, &behind.1, &behind.2])
                .await?;
            for r in &rows {
                let conv = ConvId(r.try_get(12)?);
                let m = stored_message(r)?;
                match learned.missed.last_mut() {
                    Some((c, list)) if *c == conv => list.push(m),
                    _ => learned.missed.push((conv, vec![m])),
                }
            }
        }
        Ok(learned)
    }

    async fn commit_batch(&mut self) -> Result<()> {
        let mut writes = std::mem::take(&mut self.writes);
        if !self.cursors.is_empty() {
            let mut cursors: Vec<_> = self.cursors.drain().collect();
            // Rows locked in one order by every batch.
            cursors.sort_unstable_by_key(|(key, _)| *key);
            let (keys, values): (Vec<_>, Vec<_>) = cursors.into_iter().unzip();
            let (convs, users): (Vec<i64>, Vec<i64>) = keys.into_iter().unzip();
            let (delivered, read): (Vec<i64>, Vec<i64>) = values.into_iter().unzip();
            writes.push(Write::One(
                SET_CURSORS,
                vec![
                    Box::new(convs),
                    Box::new(users),
                    Box::new(delivered),
                    Box::new(read),
                ],
            ));
        }
        if !self.advanced.is_empty() {
            let mut advanced: Vec<_> = self.advanced.drain().collect();
            advanced.sort_unstable_by_key(|(conv, _)| *conv);
            let (convs, ends): (Vec<i64>, Vec<_>) = advanced.into_iter().unzip();
            let (seqs, ts): (Vec<i64>, Vec<i64>) = ends.into_iter().unzip();
            writes.push(Write::One(
                ADVANCE_CONVS,
                vec![Box::new(convs), Box::new(seqs), Box::new(ts)],
            ));
        }
        self.known.clear();
        self.looked_up.clear();
        self.targets.clear();
        self.closed.clear();
        // The prefetch began the transaction when it locked rows.
        let begun = std::mem::take(&mut self.in_tx);
        if writes.is_empty() {
            if begun {
                self.writer.batch_execute("COMMIT").await?;
            }
            return Ok(());
        }
        if begun && self.writer.is_closed() {
            return Err(StoreError::Engine(
                "the connection to PostgreSQL closed during the batch".into(),
            ));
        }
        self.writer().await?;
        let mut statements = Vec::with_capacity(writes.len());
        for w in &writes {
            let sql = match w {
                Write::One(sql, _) => sql,
                Write::Messages(_) => INSERT_MESSAGES,
            };
            statements.push(self.statement(sql).await?);
        }
        let params: Vec<Vec<&(dyn ToSql + Sync)>> = writes
            .iter()
            .map(|w| match w {
                Write::One(_, params) => params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                    .collect(),
                Write::Messages(r) => vec![
                    &r.conv as &(dyn ToSql + Sync),
                    &r.seq,
                    &r.client,
                    &r.sender,
                    &r.ts,
                    &r.kind,
                    &r.body,
                    &r.refers,
                ],
            })
            .collect();
        let c = &self.writer;
        // Sent together: tokio-postgres queues each request on the connection
        // when its future is first polled, and `try_join_all` first polls them
        // in this order, so the batch costs one round trip, not one per
        // statement. A failed statement aborts the transaction and `COMMIT`
        // then rolls it back, so nothing of a failed batch is kept.
        type Step<'a> = std::pin::Pin<
            Box<dyn Future<Output = std::result::Result<u64, tokio_postgres::Error>> + Send + 'a>,
        >;
        let mut steps: Vec<Step<'_>> = Vec::with_capacity(writes.len() + 2);
        if !begun {
            steps.push(Box::pin(async {
                c.batch_execute("BEGIN").await.map(|()| 0)
            }));
        }
        for (s, p) in statements.iter().zip(&params) {
            steps.push(Box::pin(c.execute(s, p.as_slice())));
        }
        steps.push(Box::pin(async {
            c.batch_execute("COMMIT").await.map(|()| 0)
        }));
        futures::future::try_join_all(steps).await?;
        Ok(())
    }

    async fn snapshot(&self) -> Result<Snapshot> {
        let c = self.reader.pool.get().await?;
        let mut snap = Snapshot::default();
        for r in c
            .query(&format!("SELECT {USER_COLUMNS} FROM users"), &[])
            .await?
        {
            snap.users.push(user_record(&r)?);
        }
        for r in c
            .query("SELECT hash, user_id FROM tokens ORDER BY created_at", &[])
            .await?
        {
            let hash: Vec<u8> = r.try_get(0)?;
            let hash: TokenHash = hash
                .try_into()
                .map_err(|_| StoreError::Corrupt("a stored token is not 32 bytes".into()))?;
            snap.tokens.push((hash, UserId(r.try_get(1)?)));
        }
        for r in c
            .query(&format!("SELECT {CONV_COLUMNS} FROM convs"), &[])
            .await?
        {
            snap.convs.push(conv_record(&r)?);
        }
        for r in c
            .query(&format!("SELECT {MEMBER_COLUMNS} FROM members"), &[])
            .await?
        {
            snap.members.push(member_record(&r)?);
        }
        for r in c
            .query("SELECT conv_id, seq FROM pins ORDER BY id", &[])
            .await?
        {
            snap.pins.push((ConvId(r.try_get(0)?), seq(r.try_get(1)?)));
        }
        for r in c.query("SELECT conv_id, user_id FROM bans", &[]).await? {
            snap.bans
                .push((ConvId(r.try_get(0)?), UserId(r.try_get(1)?)));
        }
        let mut recipients: HashMap<[u8; 16], Vec<(UserId, FileState)>> = HashMap::new();
        for r in c
            .query(
                "SELECT r.file_id, r.user_id, r.state FROM file_recipients r
                 JOIN files f ON f.id = r.file_id WHERE NOT f.closed",
                &[],
            )
            .await?
        {
            recipients
                .entry(bytes16(&r, 0)?)
                .or_default()
                .push((UserId(r.try_get(1)?), state_of(r.try_get(2)?)));
        }
        for r in c
            .query(
                "SELECT id, conv_id, sender_id, name, size, sha256, created_at, expires_at, seq, node
                 FROM files WHERE NOT closed",
                &[],
            )
            .await?
        {
            let id = bytes16(&r, 0)?;
            snap.files.push(FileRecord {
                id: OfferId::from_bytes(id),
                conv: ConvId(r.try_get(1)?),
                sender: UserId(r.try_get(2)?),
                name: r.try_get(3)?,
                size: seq(r.try_get(4)?),
                sha256: r.try_get(5)?,
                created: Timestamp::from_millis(r.try_get(6)?),
                expires: Timestamp::from_millis(r.try_get(7)?),
                seq: seq(r.try_get(8)?),
                recipients: recipients.remove(&id).unwrap_or_default(),
                node: r
                    .try_get::<_, Option<String>>(9)?
                    .filter(|n| Some(n) != self.node.as_ref()),
            });
        }
        for r in c
            .query(
                "SELECT id, user_id, group_name, seq, line FROM notices ORDER BY id",
                &[],
            )
            .await?
        {
            let group: String = r.try_get(2)?;
            snap.notices.push(NoticeRecord {
                id: r.try_get(0)?,
                user: UserId(r.try_get(1)?),
                group: GroupName::new(&group).map_err(|e| {
                    StoreError::Corrupt(format!("a notice names the group {group:?}: {e}"))
                })?,
                seq: seq(r.try_get(3)?),
                line: r.try_get(4)?,
            });
        }
        Ok(snap)
    }
}

/// A conversation as stored now, with its members and their accounts.
async fn fetch_conv(c: &Client, conv: ConvId) -> Result<Option<ConvFetch>> {
    let Some(record) = c
        .query_opt(
            &format!("SELECT {CONV_COLUMNS} FROM convs WHERE id = $1"),
            &[&conv.0],
        )
        .await?
        .as_ref()
        .map(conv_record)
        .transpose()?
    else {
        return Ok(None);
    };
    let members = c
        .query(
            &format!("SELECT {MEMBER_COLUMNS} FROM members WHERE conv_id = $1"),
            &[&conv.0],
        )
        .await?
        .iter()
        .map(member_record)
        .collect::<Result<Vec<_>>>()?;
    let ids: Vec<i64> = members.iter().map(|m| m.user.0).collect();
    let users = c
        .query(
            &format!("SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1)"),
            &[&ids],
        )
        .await?
        .iter()
        .map(user_record)
        .collect::<Result<Vec<_>>>()?;
    let bans = c
        .query("SELECT user_id FROM bans WHERE conv_id = $1", &[&conv.0])
        .await?
        .iter()
        .map(|r| Ok(UserId(r.try_get(0)?)))
        .collect::<Result<Vec<_>>>()?;
    let pins = c
        .query(
            "SELECT seq FROM pins WHERE conv_id = $1 ORDER BY id",
            &[&conv.0],
        )
        .await?
        .iter()
        .map(|r| Ok(seq(r.try_get(0)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Some(ConvFetch {
        conv: record,
        members,
        users,
        bans,
        pins,
    }))
}

/// The writer's own connection: it holds the database for this server, and
/// commits wait for the WAL to reach the disk.
async fn connect_writer(url: &str, node: Option<&str>) -> Result<Client> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::error!("the connection to PostgreSQL failed: {e}");
        }
    });
    client
        .batch_execute(
            "SET synchronous_commit = on;
             SET lock_timeout = '2s';
             SET idle_in_transaction_session_timeout = '5s';",
        )
        .await?;
    let Some(node) = node else {
        let taken: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&WRITER_LOCK])
            .await?
            .try_get(0)?;
        if !taken {
            return Err(StoreError::InUse(
                "another classchat-server is using this PostgreSQL database; stop it first, \
                 or give this one its own database (several nodes share one database as a \
                 cluster: --nats and --node-id on each)"
                    .into(),
            ));
        }
        return Ok(client);
    };
    let row = client
        .query_one(
            "SELECT pg_try_advisory_lock_shared($1), pg_try_advisory_lock($2, hashtext($3))",
            &[&WRITER_LOCK, &NODE_LOCK, &node],
        )
        .await?;
    let (shared, own): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    if !shared {
        return Err(StoreError::InUse(
            "a single classchat-server (without --nats) is using this PostgreSQL database; \
             stop it before starting nodes of a cluster on it"
                .into(),
        ));
    }
    if !own {
        return Err(StoreError::InUse(format!(
            "node {node:?} is already running on this database; give each node its own --node-id"
        )));
    }
    Ok(client)
}

/// Brings the schema to the newest version, under a lock so that servers
/// starting together do not both migrate.
async fn migrate(client: &Client) -> Result<()> {
    client
        .batch_execute(
            "BEGIN;
             SELECT pg_advisory_xact_lock(1);
             CREATE TABLE IF NOT EXISTS classchat_meta (key text PRIMARY KEY, value text NOT NULL);",
        )
        .await?;
    let done = async {
        let version: i64 = client
            .query_opt(
                "SELECT value::bigint FROM classchat_meta WHERE key = 'schema_version'",
                &[],
            )
            .await?
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(0);
        let newest = MIGRATIONS.len() as i64;
        if version > newest {
            return Err(StoreError::Corrupt(format!(
                "the PostgreSQL database has schema version {version}, newer than this server \
                 understands ({newest}); run a newer classchat-server"
            )));
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            client.batch_execute(sql).await?;
            tracing::info!(version = i + 1, "PostgreSQL schema migrated");
        }
        client
            .execute(
                "INSERT INTO classchat_meta (key, value) VALUES ('schema_version', $1)
                 ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                &[&newest.to_string()],
            )
            .await?;
        Ok(())
    }
    .await;
    match done {
        Ok(()) => client.batch_execute("COMMIT").await?,
        Err(_) => client.batch_execute("ROLLBACK").await?,
    }
    done
}

const USER_COLUMNS: &str = "id, name, pw_hash, created_at, last_seen";
const CONV_COLUMNS: &str =
    "id, dm_a, dm_b, group_name, owner_id, created_at, last_seq, last_ts, access, posting";
const MEMBER_COLUMNS: &str =
    "conv_id, user_id, joined_seq, joined_at, delivered_seq, read_seq, moderator";

/// A row of [`USER_COLUMNS`].
fn user_record(r: &Row) -> Result<UserRecord> {
    Ok(UserRecord {
        id: UserId(r.try_get(0)?),
        name: username(r.try_get(1)?)?,
        password_hash: r.try_get(2)?,
        created: Timestamp::from_millis(r.try_get(3)?),
        last_seen: r.try_get::<_, Option<i64>>(4)?.map(Timestamp::from_millis),
    })
}

/// A row of [`CONV_COLUMNS`].
fn conv_record(r: &Row) -> Result<ConvRecord> {
    let kind = match r.try_get::<_, Option<String>>(3)? {
        Some(group) => ConvKind::Group {
            name: GroupName::new(&group).map_err(|e| {
                StoreError::Corrupt(format!("a stored group name {group:?} is invalid: {e}"))
            })?,
            owner: UserId(r.try_get(4)?),
            rules: Rules::from_codes(
                r.try_get::<_, i16>(8)?.into(),
                r.try_get::<_, i16>(9)?.into(),
            ),
        },
        None => ConvKind::Direct {
            a: UserId(r.try_get(1)?),
            b: UserId(r.try_get(2)?),
        },
    };
    Ok(ConvRecord {
        id: ConvId(r.try_get(0)?),
        kind,
        created: Timestamp::from_millis(r.try_get(5)?),
        last_seq: seq(r.try_get(6)?),
        last_ts: r.try_get::<_, Option<i64>>(7)?.map(Timestamp::from_millis),
    })
}

/// A row of [`MEMBER_COLUMNS`].
fn member_record(r: &Row) -> Result<MemberRecord> {
    Ok(MemberRecord {
        conv: ConvId(r.try_get(0)?),
        user: UserId(r.try_get(1)?),
        joined_seq: seq(r.try_get(2)?),
        joined_at: Timestamp::from_millis(r.try_get(3)?),
        delivered: seq(r.try_get(4)?),
        read: seq(r.try_get(5)?),
        moderator: r.try_get(6)?,
    })
}

fn seq(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn sql(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn bytes16(row: &Row, i: usize) -> Result<[u8; 16]> {
    let v: Vec<u8> = row.try_get(i)?;
    v.try_into()
        .map_err(|_| StoreError::Corrupt("a stored id is not 16 bytes".into()))
}

fn username(s: &str) -> Result<Username> {
    Username::new(s)
        .map_err(|e| StoreError::Corrupt(format!("a stored user name {s:?} is invalid: {e}")))
}

fn state_code(state: FileState) -> i16 {
    match state {
        FileState::Pending => 0,
        FileState::Accepted => 1,
        FileState::Declined => 2,
        FileState::Received => 3,
        FileState::Cancelled => 4,
        FileState::Expired => 5,
    }
}

fn state_of(code: i16) -> FileState {
    match code {
        1 => FileState::Accepted,
        2 => FileState::Declined,
        3 => FileState::Received,
        4 => FileState::Cancelled,
        5 => FileState::Expired,
        _ => FileState::Pending,
    }
}

/// A row id the prefetch should have reserved and did not: the hub's
/// [`Wants`] missed a case.
fn unreserved(what: &str) -> StoreError {
    StoreError::Corrupt(format!(
        "no {what} id was reserved for this batch (a bug: the batch's wants were counted short)"
    ))
}

impl Store for PostgresStore {
    fn load(&mut self) -> Pending<'_, Snapshot> {
        Box::pin(self.snapshot())
    }

    fn needs_prefetch(&self) -> bool {
        true
    }

    fn may_come_back(&self) -> bool {
        true
    }

    fn prefetch<'a>(&'a mut self, wants: &'a Wants) -> Pending<'a, Learned> {
        self.forget_batch();
        Box::pin(async move {
            if wants.is_empty() && !self.in_tx {
                return Ok(Learned::default());
            }
            self.lookup(wants).await
        })
    }

    fn create_user(
        &mut self,
        name: &Username,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<UserId> {
        let id = self
            .reserve
            .users
            .pop_front()
            .ok_or_else(|| unreserved("account"))?;
        self.keep(
            "INSERT INTO users (id, name, pw_hash, created_at) VALUES ($1, $2, $3, $4)",
            vec![
                Box::new(id),
                Box::new(name.as_str().to_owned()),
                Box::new(password_hash.to_owned()),
                Box::new(now.as_millis()),
            ],
        );
        Ok(UserId(id))
    }

    fn set_last_seen(&mut self, user: UserId, at: Timestamp) -> Result<()> {
        self.keep(
            "UPDATE users SET last_seen = $2 WHERE id = $1",
            vec![Box::new(user.0), Box::new(at.as_millis())],
        );
        Ok(())
    }

    fn set_password(&mut self, user: UserId, password_hash: &str) -> Result<()> {
        self.keep(
            "UPDATE users SET pw_hash = $2 WHERE id = $1",
            vec![Box::new(user.0), Box::new(password_hash.to_owned())],
        );
        Ok(())
    }

    fn add_token(&mut self, user: UserId, token: &TokenHash, now: Timestamp) -> Result<()> {
        self.keep(
            "INSERT INTO tokens (hash, user_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (hash) DO UPDATE SET user_id = EXCLUDED.user_id,
                                              created_at = EXCLUDED.created_at",
            vec![
                Box::new(token.to_vec()),
                Box::new(user.0),
                Box::new(now.as_millis()),
            ],
        );
        Ok(())
    }

    fn remove_token(&mut self, token: &TokenHash) -> Result<()> {
        self.keep(
            "DELETE FROM tokens WHERE hash = $1",
            vec![Box::new(token.to_vec())],
        );
        Ok(())
    }

    fn create_conv(&mut self, kind: &ConvKind, now: Timestamp) -> Result<ConvId> {
        let id = self
            .reserve
            .convs
            .pop_front()
            .ok_or_else(|| unreserved("conversation"))?;
        let (a, b, group, owner, (access, posting)) = match kind {
            ConvKind::Direct { a, b } => (Some(a.0), Some(b.0), None, None, (0, 0)),
            ConvKind::Group { name, owner, rules } => (
                None,
                None,
                Some(name.as_str().to_owned()),
                Some(owner.0),
                rules.codes(),
            ),
        };
        self.keep(
            "INSERT INTO convs (id, dm_a, dm_b, group_name, owner_id, created_at, access, posting)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            vec![
                Box::new(id),
                Box::new(a),
                Box::new(b),
                Box::new(group),
                Box::new(owner),
                Box::new(now.as_millis()),
                Box::new(access),
                Box::new(posting),
            ],
        );
        Ok(ConvId(id))
    }

    fn add_member(&mut self, m: &MemberRecord) -> Result<()> {
        // A member written again (they rejoined) starts from these cursors.
        self.cursors.remove(&(m.conv.0, m.user.0));
        self.keep(
            "INSERT INTO members
                 (conv_id, user_id, joined_seq, joined_at, delivered_seq, read_seq, moderator)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (conv_id, user_id) DO UPDATE SET
                 joined_seq = EXCLUDED.joined_seq, joined_at = EXCLUDED.joined_at,
                 delivered_seq = EXCLUDED.delivered_seq, read_seq = EXCLUDED.read_seq,
                 moderator = EXCLUDED.moderator",
            vec![
                Box::new(m.conv.0),
                Box::new(m.user.0),
                Box::new(sql(m.joined_seq)),
                Box::new(m.joined_at.as_millis()),
                Box::new(sql(m.delivered)),
                Box::new(sql(m.read)),
                Box::new(m.moderator),
            ],
        );
        Ok(())
    }

    fn remove_member(&mut self, conv: ConvId, user: UserId) -> Result<()> {
        self.cursors.remove(&(conv.0, user.0));
        self.keep(
            "DELETE FROM members WHERE conv_id = $1 AND user_id = $2",
            vec![Box::new(conv.0), Box::new(user.0)],
        );
        Ok(())
    }

    fn update_group(&mut self, conv: ConvId, kind: &ConvKind) -> Result<()> {
        let ConvKind::Group { name, owner, rules } = kind else {
            return Ok(());
        };
        let (access, posting) = rules.codes();
        self.keep(
            "UPDATE convs SET group_name = $2, owner_id = $3, access = $4, posting = $5
             WHERE id = $1",
            vec![
                Box::new(conv.0),
                Box::new(name.as_str().to_owned()),
                Box::new(owner.0),
                Box::new(access),
                Box::new(posting),
            ],
        );
        Ok(())
    }

    fn set_moderator(&mut self, conv: ConvId, user: UserId, moderator: bool) -> Result<()> {
        self.keep(
            "UPDATE members SET moderator = $3 WHERE conv_id = $1 AND user_id = $2",
            vec![Box::new(conv.0), Box::new(user.0), Box::new(moderator)],
        );
        Ok(())
    }

    fn set_pinned(&mut self, conv: ConvId, at: u64, pinned: bool) -> Result<()> {
        let statement = if pinned {
            "INSERT INTO pins (conv_id, seq) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM pins WHERE conv_id = $1 AND seq = $2"
        };
        self.keep(statement, vec![Box::new(conv.0), Box::new(sql(at))]);
        Ok(())
    }

    fn set_banned(&mut self, conv: ConvId, user: UserId, banned: bool) -> Result<()> {
        let sql = if banned {
            "INSERT INTO bans (conv_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM bans WHERE conv_id = $1 AND user_id = $2"
        };
        self.keep(sql, vec![Box::new(conv.0), Box::new(user.0)]);
        Ok(())
    }

    fn delete_conv(&mut self, conv: ConvId) -> Result<()> {
        self.advanced.remove(&conv.0);
        self.cursors.retain(|(c, _), _| *c != conv.0);
        for sql in [
            "DELETE FROM file_recipients WHERE file_id IN (SELECT id FROM files WHERE conv_id = $1)",
            "DELETE FROM files WHERE conv_id = $1",
            "DELETE FROM messages WHERE conv_id = $1",
            "DELETE FROM members WHERE conv_id = $1",
            "DELETE FROM bans WHERE conv_id = $1",
            "DELETE FROM pins WHERE conv_id = $1",
            "DELETE FROM reactions WHERE conv_id = $1",
            "DELETE FROM convs WHERE id = $1",
        ] {
            self.keep(sql, vec![Box::new(conv.0)]);
        }
        Ok(())
    }

    fn set_cursors(&mut self, conv: ConvId, user: UserId, delivered: u64, read: u64) -> Result<()> {
        self.cursors
            .insert((conv.0, user.0), (sql(delivered), sql(read)));
        Ok(())
    }

    fn add_notice(&mut self, user: UserId, group: &GroupName, seq: u64, line: &str) -> Result<i64> {
        let id = self
            .reserve
            .notices
            .pop_front()
            .ok_or_else(|| unreserved("notice"))?;
        self.keep(
            "INSERT INTO notices (id, user_id, group_name, seq, line) VALUES ($1, $2, $3, $4, $5)",
            vec![
                Box::new(id),
                Box::new(user.0),
                Box::new(group.as_str().to_owned()),
                Box::new(sql(seq)),
                Box::new(line.to_owned()),
            ],
        );
        Ok(id)
    }

    fn remove_notice(&mut self, id: i64) -> Result<()> {
        self.keep("DELETE FROM notices WHERE id = $1", vec![Box::new(id)]);
        Ok(())
    }

    fn append(&mut self, msg: &NewMessage<'_>) -> Result<Appended> {
        match self.known.entry(self.client_keys.key(msg.sender, msg.id)) {
            Entry::Occupied(existing) => return Ok(Appended::Duplicate(*existing.get())),
            Entry::Vacant(new) => new.insert(MessageRef {
                conv: msg.conv,
                seq: msg.seq,
                ts: msg.ts,
            }),
        };
        let end = self.advanced.entry(msg.conv.0).or_insert((0, 0));
        if sql(msg.seq) > end.0 {
            *end = (sql(msg.seq), msg.ts.as_millis());
        }
        if !matches!(self.writes.last(), Some(Write::Messages(_))) {
            self.writes.push(Write::Messages(Rows::default()));
        }
        if let Some(Write::Messages(rows)) = self.writes.last_mut() {
            rows.conv.push(msg.conv.0);
            rows.seq.push(sql(msg.seq));
            rows.client.push(msg.id.as_bytes().to_vec());
            rows.sender.push(msg.sender.0);
            rows.ts.push(msg.ts.as_millis());
            rows.kind.push(msg.kind as i16);
            rows.body.push(msg.body.to_owned());
            rows.refers.push(msg.refers.map(sql));
        }
        // A later command of the batch may reply to it, edit or delete it.
        self.targets.insert(
            (msg.conv.0, msg.seq),
            Some(Target {
                sender: msg.sender,
                kind: msg.kind,
                body: msg.body.to_owned(),
                reactions: Vec::new(),
            }),
        );
        Ok(Appended::New)
    }

    fn message_at(&mut self, conv: ConvId, seq: u64) -> Result<Option<Target>> {
        match self.targets.get(&(conv.0, seq)) {
            Some(found) => Ok(found.clone()),
            None => Err(StoreError::Corrupt(format!(
                "message {seq} of conversation {} was not prefetched",
                conv.0
            ))),
        }
    }

    fn edit_message(&mut self, conv: ConvId, seq: u64, body: &str, at: Timestamp) -> Result<()> {
        if let Some(Some(t)) = self.targets.get_mut(&(conv.0, seq)) {
            t.body = body.to_owned();
        }
        self.keep(
            "UPDATE messages SET body = $3, edited_at = $4 WHERE conv_id = $1 AND seq = $2",
            vec![
                Box::new(conv.0),
                Box::new(sql(seq)),
                Box::new(body.to_owned()),
                Box::new(at.as_millis()),
            ],
        );
        Ok(())
    }

    fn set_reaction(
        &mut self,
        conv: ConvId,
        seq: u64,
        user: UserId,
        emoji: &str,
        on: bool,
    ) -> Result<()> {
        if let Some(Some(t)) = self.targets.get_mut(&(conv.0, seq)) {
            t.reactions.retain(|(u, e)| !(*u == user && e == emoji));
            if on {
                t.reactions.push((user, emoji.to_owned()));
            }
        }
        let statement = if on {
            "INSERT INTO reactions (conv_id, seq, user_id, emoji) VALUES ($1, $2, $3, $4)
             ON CONFLICT DO NOTHING"
        } else {
            "DELETE FROM reactions WHERE conv_id = $1 AND seq = $2 AND user_id = $3 AND emoji = $4"
        };
        self.keep(
            statement,
            vec![
                Box::new(conv.0),
                Box::new(sql(seq)),
                Box::new(user.0),
                Box::new(emoji.to_owned()),
            ],
        );
        Ok(())
    }

    fn erase_message(&mut self, conv: ConvId, seq: u64) -> Result<()> {
        if let Some(Some(t)) = self.targets.get_mut(&(conv.0, seq)) {
            t.body.clear();
            t.kind = MessageKind::Deleted;
            t.reactions.clear();
        }
        self.keep(
            "DELETE FROM reactions WHERE conv_id = $1 AND seq = $2",
            vec![Box::new(conv.0), Box::new(sql(seq))],
        );
        self.keep(
            "UPDATE messages SET body = '', kind = $3, edited_at = NULL
             WHERE conv_id = $1 AND seq = $2",
            vec![
                Box::new(conv.0),
                Box::new(sql(seq)),
                Box::new(MessageKind::Deleted as i16),
            ],
        );
        self.keep(
            "UPDATE messages SET body = '' WHERE conv_id = $1 AND refers = $2 AND kind = $3",
            vec![
                Box::new(conv.0),
                Box::new(sql(seq)),
                Box::new(MessageKind::Edit as i16),
            ],
        );
        Ok(())
    }

    fn add_file(&mut self, f: &FileRecord) -> Result<()> {
        self.keep(
            "INSERT INTO files (id, conv_id, sender_id, name, size, sha256, created_at, expires_at, seq, node)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            vec![
                Box::new(f.id.as_bytes().to_vec()),
                Box::new(f.conv.0),
                Box::new(f.sender.0),
                Box::new(f.name.clone()),
                Box::new(sql(f.size)),
                Box::new(f.sha256.clone()),
                Box::new(f.created.as_millis()),
                Box::new(f.expires.as_millis()),
                Box::new(sql(f.seq)),
                Box::new(self.node.clone()),
            ],
        );
        for (user, state) in &f.recipients {
            self.set_file_state(f.id, *user, *state)?;
        }
        Ok(())
    }

    fn set_file_state(&mut self, offer: OfferId, user: UserId, state: FileState) -> Result<()> {
        self.keep(
            "INSERT INTO file_recipients (file_id, user_id, state) VALUES ($1, $2, $3)
             ON CONFLICT (file_id, user_id) DO UPDATE SET state = EXCLUDED.state",
            vec![
                Box::new(offer.as_bytes().to_vec()),
                Box::new(user.0),
                Box::new(state_code(state)),
            ],
        );
        Ok(())
    }

    fn close_file(&mut self, offer: OfferId) -> Result<()> {
        self.closed.insert(offer, true);
        self.keep(
            "UPDATE files SET closed = true WHERE id = $1",
            vec![Box::new(offer.as_bytes().to_vec())],
        );
        Ok(())
    }

    fn file_closed(&mut self, offer: OfferId) -> Result<bool> {
        // An offer the prefetch did not look up is answered as never having
        // existed: the refusal then says "no such offer" instead of "over".
        Ok(self.closed.get(&offer).copied().unwrap_or(false))
    }

    fn find_message(&mut self, sender: UserId, id: MessageId) -> Result<Option<MessageRef>> {
        let key = self.client_keys.key(sender, id);
        match self.known.get(&key) {
            Some(found) => Ok(Some(*found)),
            None if self.looked_up.contains(&key) => Ok(None),
            None => Err(StoreError::Corrupt(format!(
                "message {id} was not looked up before the batch (a bug: the batch's wants \
                 missed it)"
            ))),
        }
    }

    fn commit(&mut self) -> Pending<'_, ()> {
        Box::pin(self.commit_batch())
    }

    fn rollback(&mut self) -> Pending<'_, ()> {
        self.forget_batch();
        Box::pin(async move {
            if std::mem::take(&mut self.in_tx) && !self.writer.is_closed() {
                self.writer.batch_execute("ROLLBACK").await?;
            }
            Ok(())
        })
    }

    fn reader(&self) -> Arc<dyn Reader> {
        self.reader.clone()
    }
}

/// Reads of committed data from a pool of connections. [`Reader`] is called
/// from blocking threads (`spawn_blocking`), which wait here for the query on
/// the server's runtime.
pub struct PostgresReader {
    pool: Pool,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for PostgresReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresReader").finish_non_exhaustive()
    }
}

/// The columns [`stored_message`] reads, from `messages m`, the sender's
/// `users u`, and for a reply the message it answers (`q`, by `qu`): see
/// [`MESSAGES_FROM`].
const STORED_MESSAGE: &str = "m.seq, m.client_id, m.sender_id, u.name, m.ts, m.kind, m.body,
    m.refers, m.edited_at, qu.name, q.kind, q.body";

const MESSAGES_FROM: &str = "messages m JOIN users u ON u.id = m.sender_id
    LEFT JOIN messages q ON m.kind = 0 AND q.conv_id = m.conv_id AND q.seq = m.refers
    LEFT JOIN users qu ON qu.id = q.sender_id";

/// Several conversations' messages in `(after, upto]`, by conversation and
/// sequence number; the conversation is the thirteenth column.
const GAP: &str = "
SELECT m.seq, m.client_id, m.sender_id, u.name, m.ts, m.kind, m.body,
       m.refers, m.edited_at, qu.name, q.kind, q.body, m.conv_id
FROM messages m JOIN users u ON u.id = m.sender_id
LEFT JOIN messages q ON m.kind = 0 AND q.conv_id = m.conv_id AND q.seq = m.refers
LEFT JOIN users qu ON qu.id = q.sender_id
JOIN unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS w(conv, after, upto)
  ON m.conv_id = w.conv AND m.seq > w.after AND m.seq <= w.upto
ORDER BY m.conv_id, m.seq";

fn stored_message(r: &Row) -> Result<StoredMessage> {
    let quoted = match r.try_get::<_, Option<&str>>(9)? {
        Some(name) => Some(Box::new(Quoted::of(
            username(name)?,
            MessageKind::from_i64(i64::from(r.try_get::<_, i16>(10)?)),
            r.try_get(11)?,
        ))),
        None => None,
    };
    Ok(StoredMessage {
        seq: seq(r.try_get(0)?),
        id: MessageId::from_bytes(bytes16(r, 1)?),
        sender: UserId(r.try_get(2)?),
        sender_name: username(r.try_get(3)?)?,
        ts: Timestamp::from_millis(r.try_get(4)?),
        kind: MessageKind::from_i64(i64::from(r.try_get::<_, i16>(5)?)),
        body: r.try_get(6)?,
        refers: r.try_get::<_, Option<i64>>(7)?.map(seq),
        edited: r.try_get::<_, Option<i64>>(8)?.map(Timestamp::from_millis),
        quoted,
        reactions: Vec::new(),
    })
}

impl PostgresReader {
    /// Gives each message of a page (of one conversation) its reactions.
    fn with_reactions(&self, conv: ConvId, page: &mut [StoredMessage]) -> Result<()> {
        let (Some(first), Some(last)) = (page.first().map(|m| m.seq), page.last().map(|m| m.seq))
        else {
            return Ok(());
        };
        let rows = self
            .query(
                "SELECT r.seq, r.emoji, u.name FROM reactions r JOIN users u ON u.id = r.user_id
                 WHERE r.conv_id = $1 AND r.seq >= $2 AND r.seq <= $3 ORDER BY r.id",
                &[&conv.0, &sql(first), &sql(last)],
            )?
            .iter()
            .map(|r| Ok((seq(r.try_get(0)?), r.try_get(1)?, username(r.try_get(2)?)?)))
            .collect::<Result<Vec<_>>>()?;
        super::attach_reactions(page, rows);
        Ok(())
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.runtime.block_on(async {
            let c = self.pool.get().await?;
            let statement = c.prepare_cached(sql).await?;
            Ok(c.query(&statement, params).await?)
        })
    }
}

impl Reader for PostgresReader {
    fn search(
        &self,
        query: &Query,
        convs: &[ConvId],
        before: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<(ConvId, StoredMessage)>> {
        // The expression and `kind = 0` are those of the index `messages_search`.
        let sql_text = format!(
            "SELECT {STORED_MESSAGE}, m.conv_id FROM {MESSAGES_FROM}
             WHERE to_tsvector('simple', m.body) @@ to_tsquery('simple', $1) AND m.kind = 0
               AND m.conv_id = ANY($2) AND (m.ts, m.conv_id, m.seq) < ($3, $4, $5)
             ORDER BY m.ts DESC, m.conv_id DESC, m.seq DESC LIMIT $6"
        );
        let ids: Vec<i64> = convs.iter().map(|c| c.0).collect();
        let (ts, conv, seq) = before.map_or((i64::MAX, i64::MAX, i64::MAX), |c| {
            (c.ts.as_millis(), c.conv.0, sql(c.seq))
        });
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query(
            &sql_text,
            &[&query.tsquery(), &ids, &ts, &conv, &seq, &limit],
        )?
        .iter()
        .map(|r| Ok((ConvId(r.try_get(12)?), stored_message(r)?)))
        .collect()
    }

    fn range(
        &self,
        conv: ConvId,
        after: u64,
        upto: u64,
        limit: usize,
    ) -> Result<Vec<StoredMessage>> {
        let sql_text = format!(
            "SELECT {STORED_MESSAGE} FROM {MESSAGES_FROM}
             WHERE m.conv_id = $1 AND m.seq > $2 AND m.seq <= $3 ORDER BY m.seq LIMIT $4"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut page = self
            .query(&sql_text, &[&conv.0, &sql(after), &sql(upto), &limit])?
            .iter()
            .map(stored_message)
            .collect::<Result<Vec<_>>>()?;
        self.with_reactions(conv, &mut page)?;
        Ok(page)
    }

    fn before(&self, conv: ConvId, before: u64, limit: usize) -> Result<Vec<StoredMessage>> {
        let sql_text = format!(
            "SELECT {STORED_MESSAGE} FROM {MESSAGES_FROM}
             WHERE m.conv_id = $1 AND m.seq < $2 ORDER BY m.seq DESC LIMIT $3"
        );
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut out = self
            .query(&sql_text, &[&conv.0, &sql(before), &limit])?
            .iter()
            .map(stored_message)
            .collect::<Result<Vec<_>>>()?;
        out.reverse();
        self.with_reactions(conv, &mut out)?;
        Ok(out)
    }

    fn count_unread(&self, conv: ConvId, after: u64, user: UserId) -> Result<u64> {
        let rows = self.query(
            "SELECT count(*) FROM messages
             WHERE conv_id = $1 AND seq > $2 AND sender_id != $3 AND kind = $4",
            &[&conv.0, &sql(after), &user.0, &(MessageKind::Text as i16)],
        )?;
        let n: i64 = rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0);
        Ok(seq(n))
    }

    fn offer_outcome(&self, offer: OfferId) -> Result<Option<OfferOutcome>> {
        let id = offer.as_bytes().to_vec();
        let Some(over) = self
            .query("SELECT closed FROM files WHERE id = $1", &[&id])?
            .first()
            .map(|r| r.try_get::<_, bool>(0))
            .transpose()?
        else {
            return Ok(None);
        };
        let recipients = self
            .query(
                "SELECT user_id, state FROM file_recipients WHERE file_id = $1",
                &[&id],
            )?
            .iter()
            .map(|r| Ok((UserId(r.try_get(0)?), state_of(r.try_get(1)?))))
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(OfferOutcome { over, recipients }))
    }

    fn conv(&self, conv: ConvId) -> Result<Option<ConvFetch>> {
        self.runtime.block_on(async {
            let c = self.pool.get().await?;
            fetch_conv(&c, conv).await
        })
    }

    fn versions(&self) -> Result<Vec<(ConvId, u64)>> {
        self.query("SELECT id, last_seq FROM convs WHERE last_seq > 0", &[])?
            .iter()
            .map(|r| Ok((ConvId(r.try_get(0)?), seq(r.try_get(1)?))))
            .collect()
    }
}
