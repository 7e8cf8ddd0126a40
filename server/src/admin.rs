//! What an operator does to a stopped server's data directory from the
//! command line (`classchat-server reset-password NAME`).
//!
//! These open the database themselves, so they take the data directory's lock
//! like a server does: while a server runs on the directory they refuse,
//! since it keeps accounts in memory and would not see the change.

use std::path::{Path, PathBuf};

use classchat_common::Username;

use crate::auth::{self, AuthError};
use crate::store::StoreError;
use crate::store::sqlite::{SqliteStore, SyncLevel};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("there is no database in {0}; pass the server's --data-dir")]
    NoDatabase(PathBuf),
    #[error("there is no account {0}")]
    NoAccount(Username),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Gives `name` a new random password, which it answers with the account's
/// name as spelled. The account's saved logins (resume tokens) stop working,
/// so every client it is logged in on asks for the new password.
pub fn reset_password(data_dir: &Path, name: &Username) -> Result<(Username, String), AdminError> {
    // Never make an empty database where the operator meant an existing one.
    if !data_dir.join("classchat.db").exists() {
        return Err(AdminError::NoDatabase(data_dir.to_path_buf()));
    }
    let mut store = SqliteStore::open(data_dir, SyncLevel::Full)?;
    let password = auth::new_password()?;
    let hash = auth::hash_password(&password)?;
    match store.reset_password(name, &hash)? {
        Some(spelled) => Ok((spelled, password)),
        None => Err(AdminError::NoAccount(name.clone())),
    }
}
