//! A throwaway PostgreSQL for the tests of `--store postgres`: one server per
//! test binary, started on first use from the installed programs (`initdb`,
//! `postgres`; Debian's `postgresql` package) in a temporary directory on a
//! free loopback port, and one database per test server.
//!
//! Nothing here skips: a machine without PostgreSQL fails these tests with a
//! message saying what to install.
//!
//! PostgreSQL refuses to run as root, so as root it runs as the `postgres`
//! user (`runuser`). A watchdog shell stops it and removes its directory once
//! the test binary has exited (statics are never dropped). It runs with
//! `fsync=off`: the tests kill servers, not machines, and the operating
//! system keeps what was written when a process dies.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub struct Postgres {
    /// The directory of its socket (and its data).
    dir: PathBuf,
    pub port: u16,
    bin: PathBuf,
    /// Whether it runs as the `postgres` user (the tests run as root).
    root: bool,
}

/// The binary's PostgreSQL, started on first use.
pub fn server() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(start)
}

/// A URL for the database `name` on the binary's PostgreSQL, created if it
/// does not exist yet.
pub fn database(name: &str) -> String {
    let pg = server();
    let create = pg
        .psql("postgres")
        .arg("-c")
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .expect("run psql");
    let said = String::from_utf8_lossy(&create.stderr);
    assert!(
        create.status.success() || said.contains("already exists"),
        "cannot create the test database {name}: {said}"
    );
    pg.url(name)
}

/// The database a test server on `data_dir` uses: the same one again when a
/// server is restarted on the same directory.
pub fn database_for(data_dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data_dir.hash(&mut h);
    database(&format!("t_{:016x}", h.finish()))
}

impl Postgres {
    /// The postmaster's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        std::fs::read_to_string(self.dir.join("data").join("postmaster.pid"))
            .ok()?
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    }

    pub fn url(&self, database: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={database}",
            self.port
        )
    }

    /// `psql` on `database`, quiet, stopping at the first error.
    pub fn psql(&self, database: &str) -> Command {
        let mut c = Command::new(self.bin.join("psql"));
        c.args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args([
                "-p",
                &self.port.to_string(),
                "-U",
                "postgres",
                "-d",
                database,
            ]);
        c
    }

    fn pg_ctl(&self) -> Command {
        let mut c = as_postgres(self.root, &self.bin.join("pg_ctl"));
        c.arg("-D").arg(self.dir.join("data"));
        c.stdin(Stdio::null()).stdout(Stdio::null());
        c
    }

    /// Stops PostgreSQL at once, as a crash would (`immediate`: no checkpoint).
    pub fn stop(&self) {
        let stopped = self
            .pg_ctl()
            .args(["stop", "-w", "-m", "immediate"])
            .status()
            .expect("run pg_ctl stop");
        assert!(stopped.success(), "pg_ctl stop failed");
    }

    /// Starts PostgreSQL (again), waiting until it takes connections.
    pub fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 \
             -c shared_buffers=32MB",
            self.port,
            self.dir.display()
        );
        let started = self
            .pg_ctl()
            .args(["start", "-w", "-t", "60", "-o", &options, "-l"])
            .arg(self.dir.join("log"))
            .output()
            .expect("run pg_ctl start");
        let log = std::fs::read_to_string(self.dir.join("log")).unwrap_or_default();
        assert!(
            started.status.success(),
            "PostgreSQL did not start: {}\n{log}",
            String::from_utf8_lossy(&started.stderr)
        );
    }

    /// One value that `sql` selects in `database`, as text.
    pub fn value(&self, database: &str, sql: &str) -> String {
        let out = self
            .psql(database)
            .arg("-c")
            .arg(sql)
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "psql failed on {sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

fn bin_dir() -> PathBuf {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .find(|d| d.join("initdb").is_file() && d.join("postgres").is_file())
    });
    // Distributions link the programs from their version's directory,
    // which has the rest of them (psql) too.
    if let Some(dir) = from_path
        .and_then(|d| std::fs::canonicalize(d.join("initdb")).ok())
        .and_then(|initdb| initdb.parent().map(Path::to_path_buf))
    {
        return dir;
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| d.join("initdb").is_file())
        .collect();
    versions.sort();
    versions.pop().expect(
        "PostgreSQL's programs (initdb, postgres) are needed for these tests: \
         apt-get install postgresql",
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` as the user PostgreSQL runs as.
fn as_postgres(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn start() -> Postgres {
    let bin = bin_dir();
    let root = is_root();
    let dir = tempfile::Builder::new()
        .prefix("classchat-pg-")
        .tempdir()
        .expect("a temporary directory")
        .keep();
    if root {
        let chown = Command::new("chown")
            .args(["postgres:postgres"])
            .arg(&dir)
            .status()
            .expect("run chown");
        assert!(chown.success(), "cannot give {} to postgres", dir.display());
    }
    let data = dir.join("data");
    let init = as_postgres(root, &bin.join("initdb"))
        .args([
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
            "-D",
        ])
        .arg(&data)
        .stdout(Stdio::null())
        .output()
        .expect("run initdb");
    assert!(
        init.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&init.stderr)
    );
    let port = free_port();
    let pg = Postgres {
        dir,
        port,
        bin,
        root,
    };
    pg.start_again();
    // Stops PostgreSQL once this process is gone, then removes its files.
    let watchdog = format!(
        "while [ -d /proc/{parent} ]; do sleep 0.5; done
         {pg_ctl} -D {dir}/data stop -m immediate >/dev/null 2>&1; rm -rf {dir}",
        pg_ctl = pg.bin.join("pg_ctl").display(),
        dir = pg.dir.display(),
        parent = std::process::id(),
    );
    #[allow(
        clippy::zombie_processes,
        reason = "the watchdog outlives this process on purpose"
    )]
    as_postgres(root, Path::new("sh"))
        .arg("-c")
        .arg(watchdog)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the watchdog of postgres");
    pg
}
