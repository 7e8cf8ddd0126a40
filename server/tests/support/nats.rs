//! A throwaway NATS server for the cluster tests: one per test binary,
//! started on first use from the installed `nats-server` (Debian's
//! `nats-server` package) on a free loopback port. A watchdog shell stops it
//! once the test binary has exited (statics are never dropped).
//!
//! Nothing here skips: a machine without `nats-server` fails these tests with
//! a message saying what to install.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub struct Nats {
    pub port: u16,
    bin: PathBuf,
}

/// The binary's NATS server, started on first use.
pub fn server() -> &'static Nats {
    static SERVER: OnceLock<Nats> = OnceLock::new();
    SERVER.get_or_init(start)
}

impl Nats {
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

fn bin() -> PathBuf {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nats-server"))
            .find(|p| p.is_file())
    });
    // Debian installs it in /usr/sbin, which is not on every user's PATH.
    on_path
        .or_else(|| Some(PathBuf::from("/usr/sbin/nats-server")).filter(|p| p.is_file()))
        .expect("nats-server is needed for the cluster tests: apt-get install nats-server")
}

fn start() -> Nats {
    let bin = bin();
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    // Started by a shell that outlives it and stops it once this process is gone.
    let script = format!(
        "{bin} -a 127.0.0.1 -p {port} >/dev/null 2>&1 & nats=$!
         while [ -d /proc/{parent} ]; do sleep 0.5; done
         kill $nats",
        bin = bin.display(),
        parent = std::process::id(),
    );
    #[allow(
        clippy::zombie_processes,
        reason = "the shell outlives this process on purpose"
    )]
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start nats-server");
    // Up within 10 s.
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Nats { port, bin };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nats-server did not start on port {port}");
}

/// A NATS server of one test's own, which the test may stop and start again
/// on the same port; stopped when dropped.
pub struct Own {
    pub port: u16,
    child: Option<std::process::Child>,
}

impl Own {
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let mut own = Own { port, child: None };
        own.start_again();
        own
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Stops it at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn start_again(&mut self) {
        self.kill();
        let child = Command::new(bin())
            .args(["-a", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nats-server did not start on port {}", self.port);
    }
}

impl Drop for Own {
    fn drop(&mut self) {
        self.kill();
    }
}
