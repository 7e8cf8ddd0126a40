//! Where the client keeps its settings and data, and what the settings are.
//!
//! Settings live in `config.toml` in the platform config directory
//! (`$XDG_CONFIG_HOME/classchat/` on Linux), data (saved logins) in the platform
//! data directory (`$XDG_DATA_HOME/classchat/`). Command-line options override
//! the file. Passwords are never written anywhere; a resume token the server
//! issued is kept, readable by the user alone, so the next start needs none,
//! and so are messages typed that the server had not stored yet.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use classchat_common::{Conv, MessageId};
use serde::{Deserialize, Serialize};

use crate::outbox::Target;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot find a home directory for the configuration; set HOME or XDG_CONFIG_HOME")]
    NoHome,
    #[error("cannot read {path}: {cause}")]
    Read { path: PathBuf, cause: io::Error },
    #[error("{path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {cause}")]
    Write { path: PathBuf, cause: io::Error },
}

/// The client's directories.
#[derive(Debug, Clone)]
pub struct Paths {
    pub config_file: PathBuf,
    pub data_dir: PathBuf,
}

impl Paths {
    /// The platform's directories for ClassChat.
    pub fn platform() -> Result<Self, ConfigError> {
        let dirs =
            directories::ProjectDirs::from("", "", "classchat").ok_or(ConfigError::NoHome)?;
        Ok(Self {
            config_file: dirs.config_dir().join("config.toml"),
            data_dir: dirs.data_dir().to_path_buf(),
        })
    }

    pub fn logins_file(&self) -> PathBuf {
        self.data_dir.join("logins.json")
    }

    /// Pinned TLS certificate fingerprints, by server address.
    pub fn known_servers_file(&self) -> PathBuf {
        self.data_dir.join("known_servers.json")
    }

    /// Where accepted files go by default: `ClassChat` in the user's download
    /// folder, or `downloads` in the data directory where there is none.
    pub fn default_download_dir(&self) -> PathBuf {
        let dirs = directories::UserDirs::new();
        download_dir_in(
            dirs.as_ref().and_then(directories::UserDirs::download_dir),
            dirs.as_ref().map(directories::UserDirs::home_dir),
            &self.data_dir,
        )
    }
}

/// The download folder the desktop names (on Linux, `XDG_DOWNLOAD_DIR` in
/// `user-dirs.dirs`), else `~/Downloads` where it exists without being named,
/// as on a machine with no desktop; else the data directory.
fn download_dir_in(named: Option<&Path>, home: Option<&Path>, data_dir: &Path) -> PathBuf {
    named
        .map(Path::to_path_buf)
        .or_else(|| home.map(|h| h.join("Downloads")).filter(|d| d.is_dir()))
        .map_or_else(|| data_dir.join("downloads"), |d| d.join("ClassChat"))
}

/// How the terminal UI tells you that something wants you: a mention of you,
/// or a direct message while the terminal window is in the background.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Notify {
    /// The terminal bell.
    #[default]
    Bell,
    /// A desktop notification through the terminal (OSC 777), in the
    /// client's own words: who, and where, never what they wrote.
    Desktop,
    Off,
}

/// The settings in `config.toml`. Every field is optional.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The server to connect to, e.g. `localhost:12345` or `[::1]:12345`.
    pub server: Option<String>,
    /// The user name to log in as.
    pub user: Option<String>,
    /// `"color"` (the default) or `"mono"`; `NO_COLOR` in the environment also
    /// turns colour off.
    pub theme: Option<String>,
    /// Plain ASCII status markers (`[++]` instead of `✓✓`).
    pub ascii: bool,
    /// Connect with TLS (the certificate is pinned on first use).
    pub tls: bool,
    /// Where accepted files go (default: `~/Downloads/ClassChat`).
    pub download_dir: Option<PathBuf>,
    /// Tell the others in a conversation that you are typing (on unless
    /// `typing = false`).
    pub typing: bool,
    /// `"bell"` (the default), `"desktop"` or `"off"`.
    pub notify: Notify,
    /// Key overrides: action name = key, e.g. `next_conversation = "ctrl-j"`.
    pub keys: BTreeMap<String, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: None,
            user: None,
            theme: None,
            ascii: false,
            tls: false,
            download_dir: None,
            typing: true,
            notify: Notify::Bell,
            keys: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// Reads the file; a missing file means defaults.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(cause) => {
                return Err(ConfigError::Read {
                    path: path.into(),
                    cause,
                });
            }
        };
        toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = toml::to_string_pretty(self).map_err(|e| ConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        write_private(path, text.as_bytes())
    }
}

/// Resume tokens by `user@server`, in the data directory.
#[derive(Debug, Clone)]
pub struct Logins {
    path: PathBuf,
}

impl Logins {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn key(user: &str, server: &str) -> String {
        format!("{}@{server}", user.to_ascii_lowercase())
    }

    fn read(&self) -> BTreeMap<String, String> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn token(&self, user: &str, server: &str) -> Option<String> {
        self.read().remove(&Self::key(user, server))
    }

    pub fn save(&self, user: &str, server: &str, token: &str) -> Result<(), ConfigError> {
        let mut all = self.read();
        all.insert(Self::key(user, server), token.to_owned());
        self.write(&all)
    }

    /// Where the messages not yet stored are kept, beside the logins.
    pub fn unsent(&self) -> Unsent {
        Unsent::new(self.path.with_file_name("unsent.json"))
    }

    pub fn forget(&self, user: &str, server: &str) -> Result<(), ConfigError> {
        let mut all = self.read();
        if all.remove(&Self::key(user, server)).is_some() {
            self.write(&all)?;
        }
        Ok(())
    }

    fn write(&self, all: &BTreeMap<String, String>) -> Result<(), ConfigError> {
        let bytes = serde_json::to_vec_pretty(all).map_err(|e| ConfigError::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_private(&self.path, &bytes)
    }
}

/// A message typed that the server has not confirmed yet, kept on disk so
/// that quitting (or a crash of the client) does not lose it: the next start
/// sends it with the same id, which the server stores at most once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsentMessage {
    pub id: MessageId,
    pub to: Conv,
    pub body: String,
    /// A reply, an edit or a deletion (absent in files written before there
    /// were any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

/// Unsent messages by `user@server`, in the data directory, oldest first.
#[derive(Debug, Clone)]
pub struct Unsent {
    path: PathBuf,
}

impl Unsent {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn read(&self) -> BTreeMap<String, Vec<UnsentMessage>> {
        std::fs::read(&self.path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    pub fn load(&self, user: &str, server: &str) -> Vec<UnsentMessage> {
        self.read()
            .remove(&Logins::key(user, server))
            .unwrap_or_default()
    }

    /// Replaces what is kept for `user@server` (nothing, if `messages` is empty).
    pub fn save(
        &self,
        user: &str,
        server: &str,
        messages: Vec<UnsentMessage>,
    ) -> Result<(), ConfigError> {
        let mut all = self.read();
        let key = Logins::key(user, server);
        let had = all.contains_key(&key);
        if messages.is_empty() {
            all.remove(&key);
        } else {
            all.insert(key, messages);
        }
        if !had && all.is_empty() {
            return Ok(());
        }
        let bytes = serde_json::to_vec_pretty(&all).map_err(|e| ConfigError::Parse {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        write_private(&self.path, &bytes)
    }
}

/// Writes a file readable by its owner alone, replacing it atomically.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let err = |cause| ConfigError::Write {
        path: path.into(),
        cause,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension("tmp");
    {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(err)?;
        io::Write::write_all(&mut file, bytes).map_err(err)?;
    }
    std::fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_config_file_means_defaults_and_a_saved_one_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/config.toml");
        assert_eq!(Settings::load(&path).unwrap(), Settings::default());
        let s = Settings {
            server: Some("[::1]:4000".into()),
            user: Some("alice".into()),
            theme: Some("mono".into()),
            ascii: true,
            tls: true,
            download_dir: Some("/tmp/in".into()),
            typing: false,
            notify: Notify::Desktop,
            keys: BTreeMap::from([("quit".into(), "ctrl-q".into())]),
        };
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path).unwrap(), s);
    }

    #[test]
    fn typing_is_told_and_mentions_ring_the_bell_unless_the_file_says_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "user = \"alice\"\n").unwrap();
        let s = Settings::load(&path).unwrap();
        assert_eq!((s.typing, s.notify), (true, Notify::Bell));
        std::fs::write(&path, "typing = false\nnotify = \"off\"\n").unwrap();
        let s = Settings::load(&path).unwrap();
        assert_eq!((s.typing, s.notify), (false, Notify::Off));
        std::fs::write(&path, "notify = \"loud\"\n").unwrap();
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(err.contains("loud"), "{err}");
    }

    #[test]
    fn files_go_to_the_named_download_folder_else_an_existing_home_downloads_else_the_data_dir() {
        let home = tempfile::tempdir().unwrap();
        let data = home.path().join("data");
        let named = home.path().join("Téléchargements");
        assert_eq!(
            download_dir_in(Some(&named), Some(home.path()), &data),
            named.join("ClassChat")
        );
        assert_eq!(
            download_dir_in(None, Some(home.path()), &data),
            data.join("downloads")
        );
        std::fs::create_dir(home.path().join("Downloads")).unwrap();
        assert_eq!(
            download_dir_in(None, Some(home.path()), &data),
            home.path().join("Downloads/ClassChat")
        );
        assert_eq!(download_dir_in(None, None, &data), data.join("downloads"));
    }

    #[test]
    fn an_unknown_setting_is_reported_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "sever = \"x\"\n").unwrap();
        let err = Settings::load(&path).unwrap_err().to_string();
        assert!(
            err.contains("config.toml") && err.contains("sever"),
            "{err}"
        );
    }

    #[test]
    fn unsent_messages_are_kept_per_user_and_server_in_order_until_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let unsent = Unsent::new(dir.path().join("unsent.json"));
        assert!(unsent.load("alice", "h:1").is_empty());
        let typed = |body: &str| UnsentMessage {
            id: MessageId::new(),
            to: "bob".parse().unwrap(),
            body: body.into(),
            target: None,
        };
        let two = vec![typed("first"), typed("second")];
        unsent.save("Alice", "h:1", two.clone()).unwrap();
        unsent.save("bob", "h:1", vec![typed("other")]).unwrap();
        assert_eq!(unsent.load("alice", "h:1"), two);
        assert!(unsent.load("alice", "h:2").is_empty());
        unsent.save("alice", "h:1", Vec::new()).unwrap();
        assert!(unsent.load("alice", "h:1").is_empty());
        assert_eq!(unsent.load("bob", "h:1").len(), 1);
    }

    #[test]
    fn unsent_replies_edits_and_deletions_keep_what_they_are_and_old_files_still_load() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("unsent.json");
        let id = MessageId::new();
        // As a client from before replies wrote it.
        std::fs::write(
            &path,
            format!(r#"{{"alice@h:1":[{{"id":"{id}","to":"bob","body":"hi"}}]}}"#),
        )
        .unwrap();
        let unsent = Unsent::new(path);
        let old = unsent.load("alice", "h:1");
        assert_eq!((old.len(), old[0].id, old[0].target), (1, id, None));
        let kept: Vec<UnsentMessage> = [Target::Reply(3), Target::Edit(4), Target::Delete(5)]
            .into_iter()
            .map(|t| UnsentMessage {
                id: MessageId::new(),
                to: "#g".parse().unwrap(),
                body: String::new(),
                target: Some(t),
            })
            .collect();
        unsent.save("alice", "h:1", kept.clone()).unwrap();
        assert_eq!(unsent.load("alice", "h:1"), kept);
    }

    #[test]
    fn tokens_are_kept_per_user_and_server_in_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let logins = Logins::new(dir.path().join("logins.json"));
        logins.save("Alice", "h:1", "t1").unwrap();
        logins.save("bob", "h:1", "t2").unwrap();
        assert_eq!(logins.token("alice", "h:1").as_deref(), Some("t1"));
        assert_eq!(logins.token("alice", "h:2"), None);
        logins.forget("alice", "h:1").unwrap();
        assert_eq!(logins.token("alice", "h:1"), None);
        assert_eq!(logins.token("bob", "h:1").as_deref(), Some("t2"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("logins.json"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
