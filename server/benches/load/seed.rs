//! Benchmark accounts written straight into a SQLite data directory, each with a resume token, so thousands of users cost one argon2 hash instead of one each.

use std::path::Path;

use anyhow::Context as _;
use classchat_common::{Timestamp, Username};
use classchat_server::auth::{hash_password, new_token};
use classchat_server::store::Store;
use classchat_server::store::sqlite::{SqliteStore, SyncLevel};

use crate::client::Proof;

/// The password every benchmark account has.
pub const PASSWORD: &str = "benchmark password";

/// A user the benchmark can log in as.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub proof: Proof,
}

/// `count` names `{prefix}00000`, `{prefix}00001`, …
pub fn names(prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| format!("{prefix}{i:05}")).collect()
}

/// Creates the accounts in the database in `dir` (made if missing), all with
/// the same real argon2id hash of [`PASSWORD`], and a resume token each.
pub async fn seed(dir: &Path, names: &[String]) -> anyhow::Result<Vec<Account>> {
    let dir = dir.to_path_buf();
    let names = names.to_vec();
    tokio::task::spawn_blocking(move || {
        let hash = hash_password(PASSWORD).context("cannot hash the benchmark password")?;
        let mut store = SqliteStore::open(&dir, SyncLevel::Normal)
            .with_context(|| format!("cannot open a database in {}", dir.display()))?;
        let now = Timestamp::now();
        let mut accounts = Vec::with_capacity(names.len());
        for name in names {
            let user = Username::new(&name).context("a benchmark user name")?;
            let id = store.create_user(&user, &hash, now)?;
            let (token, token_hash) = new_token()?;
            store.add_token(id, &token_hash, now)?;
            accounts.push(Account {
                name,
                proof: Proof::Token(token),
            });
        }
        tokio::runtime::Handle::current().block_on(store.commit())?;
        Ok(accounts)
    })
    .await
    .context("the seeding thread failed")?
}

/// Accounts made by logging in with a password (the memory store cannot be
/// seeded): each costs the server one argon2 hash.
pub fn by_password(names: &[String]) -> Vec<Account> {
    names
        .iter()
        .map(|name| Account {
            name: name.clone(),
            proof: Proof::Password(PASSWORD.to_owned()),
        })
        .collect()
}
