//! A few OS threads that run password work, taking jobs fairly across client addresses.
//!
//! Each thread owns one argon2 [`Memory`] for its whole life, so hashing holds
//! threads × 19 MiB whatever the load. Jobs reach the threads through a bounded
//! channel, and each address may have only one job in it at a time: further
//! jobs from the same address wait (asynchronously) at that address's gate
//! until its queued job is taken. So one address flooding the server puts one
//! job ahead of everyone else's, not a thousand, while an address alone still
//! keeps every thread busy (its next job enters as soon as one is taken).
//! When the channel itself is full, senders wait in turn, one per address.
//!
//! Dropping the [`Pool`] closes the channel and waits for the threads: each
//! ends after the job in its hands (jobs whose caller is gone are skipped), so
//! once a server has stopped, so has its hashing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use tokio::sync::{Semaphore, mpsc};

use super::AuthError;
use super::argon::Memory;

/// Jobs the channel holds: at most one per address, so this is how many
/// addresses can be queued before senders wait.
const QUEUE: usize = 1024;

/// One piece of password work. It sends its own answer, and checks first
/// whether anyone still waits for it.
pub type Work = Box<dyn FnOnce(&mut Memory) + Send>;

struct Job {
    /// Released when a thread takes the job, letting the address's next one in.
    turn: Turn,
    work: Work,
}

/// The hashing threads and the way in.
#[derive(Debug)]
pub struct Pool {
    /// `None` only while the pool is dropped.
    jobs: Option<mpsc::Sender<Job>>,
    gates: Arc<Gates>,
    threads: Vec<JoinHandle<()>>,
}

impl Pool {
    /// Starts `threads` threads (at least one).
    pub fn start(threads: usize) -> Result<Self, AuthError> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        let threads = (0..threads.max(1))
            .map(|i| {
                let queue = queue.clone();
                std::thread::Builder::new()
                    .name(format!("classchat-hash-{i}"))
                    .spawn(move || serve(&queue))
                    .map_err(|e| AuthError::Hasher(format!("cannot start a hashing thread: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            jobs: Some(jobs),
            gates: Arc::default(),
            threads,
        })
    }

    /// Queues `work` for `address` once that address has no other job queued.
    pub async fn run(&self, address: IpAddr, work: Work) -> Result<(), AuthError> {
        let stopped = || AuthError::Hasher("the hashing threads have stopped".into());
        let jobs = self.jobs.as_ref().ok_or_else(stopped)?;
        let turn = Turn::wait(&self.gates, address.to_canonical()).await?;
        jobs.send(Job { turn, work }).await.map_err(|_| stopped())
    }

    /// Jobs in the channel, not yet taken by a thread.
    #[cfg(test)]
    fn queued(&self) -> usize {
        self.jobs
            .as_ref()
            .map_or(0, |jobs| jobs.max_capacity() - jobs.capacity())
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Nobody can queue any more (this was the last handle), so the wait
        // is for at most the job each thread has in hand.
        self.jobs = None;
        for thread in self.threads.drain(..) {
            if thread.join().is_err() {
                tracing::error!("a hashing thread panicked");
            }
        }
    }
}

/// One hashing thread: takes jobs until the channel is closed and empty.
fn serve(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        // One thread waits in the channel while the others wait for this
        // lock; it is let go of as soon as a job arrives, before the work.
        let job = queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .blocking_recv();
        let Some(Job { turn, work }) = job else {
            return;
        };
        drop(turn);
        // A panic loses this job's answer (its caller sees an error), not the
        // thread: the memory is plain blocks, overwritten by the next job.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut memory))).is_err() {
            tracing::error!("password work panicked; its caller gets an error");
        }
    }
}

/// One gate per address that has a job queued or waiting.
#[derive(Debug, Default)]
struct Gates {
    // Held to look up, add or remove an entry, never across a wait.
    by_address: Mutex<HashMap<IpAddr, Gate>>,
}

#[derive(Debug)]
struct Gate {
    /// One permit: held by the address's job in the channel.
    open: Arc<Semaphore>,
    /// Turns of this address that exist (waiting or holding the permit); the
    /// gate is forgotten when the last ends.
    turns: usize,
}

/// An address's place at its gate; holds the permit once it has it.
struct Turn {
    gates: Arc<Gates>,
    address: IpAddr,
    open: Arc<Semaphore>,
    holds: bool,
}

impl Turn {
    async fn wait(gates: &Arc<Gates>, address: IpAddr) -> Result<Self, AuthError> {
        let open = {
            let mut by_address = gates
                .by_address
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let gate = by_address.entry(address).or_insert_with(|| Gate {
                open: Arc::new(Semaphore::new(1)),
                turns: 0,
            });
            gate.turns += 1;
            gate.open.clone()
        };
        // Made before the wait, so a caller that gives up while waiting still
        // counts itself out of the gate.
        let mut turn = Turn {
            gates: gates.clone(),
            address,
            open,
            holds: false,
        };
        turn.open
            .acquire()
            .await
            .map_err(|_| AuthError::Hasher("an address gate was closed".into()))?
            .forget();
        turn.holds = true;
        Ok(turn)
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        if self.holds {
            self.open.add_permits(1);
        }
        let mut by_address = self
            .gates
            .by_address
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(gate) = by_address.get_mut(&self.address) {
            gate.turns -= 1;
            if gate.turns == 0 {
                by_address.remove(&self.address);
            }
        }
    }
}

impl std::fmt::Debug for Turn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Turn({}, holds: {})", self.address, self.holds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc as std_mpsc;

    type Log = Arc<Mutex<Vec<&'static str>>>;

    /// Work that writes `label` into `log` when a thread runs it.
    fn record(log: &Log, label: &'static str) -> Work {
        let log = log.clone();
        Box::new(move |_| log.lock().unwrap().push(label))
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Keeps a one-thread pool's thread busy (with a job from another
    /// address) until the returned sender is used or dropped.
    async fn occupy(pool: &Pool) -> std_mpsc::Sender<()> {
        let (started_tx, started) = std_mpsc::channel();
        let (release, blocked) = std_mpsc::channel::<()>();
        let blocker: Work = Box::new(move |_| {
            started_tx.send(()).unwrap();
            let _ = blocked.recv();
        });
        pool.run(ip("10.0.0.9"), blocker).await.unwrap();
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        release
    }

    /// Lets the other tasks run until `pool` has `n` jobs in its channel, or
    /// until they have had ample turns to (no clock involved).
    async fn until_queued(pool: &Pool, n: usize) {
        for _ in 0..1000 {
            if pool.queued() >= n {
                return;
            }
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn another_address_is_served_after_one_job_of_a_flooding_one_not_after_all() {
        let pool = Arc::new(Pool::start(1).unwrap());
        let log: Log = Arc::default();
        // The one thread is kept busy until everything is queued.
        let release = occupy(&pool).await;

        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (pool, work) = (pool.clone(), record(&log, "A"));
            tasks.push(tokio::spawn(
                async move { pool.run(ip("10.0.0.1"), work).await },
            ));
        }
        until_queued(&pool, 1).await;
        assert_eq!(pool.queued(), 1, "one job of A's");
        let (b_pool, work) = (pool.clone(), record(&log, "B"));
        tasks.push(tokio::spawn(async move {
            b_pool.run(ip("10.0.0.2"), work).await
        }));
        until_queued(&pool, 2).await;
        assert_eq!(pool.queued(), 2, "one job of A's, then B's");

        release.send(()).unwrap();
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        drop(Arc::into_inner(pool).unwrap());
        let log = log.lock().unwrap();
        assert_eq!(log.len(), 11);
        let b = log.iter().position(|&l| l == "B").unwrap();
        assert!(b < 2, "B ran {}th: {log:?}", b + 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_address_alone_keeps_every_thread_busy() {
        let pool = Arc::new(Pool::start(2).unwrap());
        let log: Log = Arc::default();
        // Two jobs from one address that each wait for the other to have
        // started: both see it only if they run at once, on the two threads.
        // (The bound only keeps a broken pool from hanging the suite.)
        let bound = std::time::Duration::from_secs(30);
        let (a_started, a_seen) = std_mpsc::channel::<()>();
        let (b_started, b_seen) = std_mpsc::channel::<()>();
        let meet = |log: &Log, started: std_mpsc::Sender<()>, seen: std_mpsc::Receiver<()>| {
            let log = log.clone();
            let work: Work = Box::new(move |_| {
                started.send(()).unwrap();
                let met = seen.recv_timeout(bound).is_ok();
                log.lock().unwrap().push(if met { "met" } else { "alone" });
            });
            work
        };
        pool.run(ip("10.0.0.1"), meet(&log, a_started, b_seen))
            .await
            .unwrap();
        pool.run(ip("10.0.0.1"), meet(&log, b_started, a_seen))
            .await
            .unwrap();
        drop(Arc::into_inner(pool).unwrap());
        assert_eq!(*log.lock().unwrap(), ["met", "met"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn gates_are_forgotten_when_their_address_has_nothing_queued_or_waiting() {
        let pool = Arc::new(Pool::start(1).unwrap());
        let log: Log = Arc::default();
        let (release, blocked) = std_mpsc::channel::<()>();
        let blocker: Work = Box::new(move |_| blocked.recv().unwrap());
        pool.run(ip("10.0.0.9"), blocker).await.unwrap();
        // A job waits in the channel; a second from the same address waits at
        // the gate and gives up (as a login that timed out does).
        pool.run(ip("10.0.0.1"), record(&log, "queued"))
            .await
            .unwrap();
        let waiting = {
            let pool = pool.clone();
            let work = record(&log, "gave up");
            tokio::spawn(async move { pool.run(ip("10.0.0.1"), work).await })
        };
        tokio::task::yield_now().await;
        waiting.abort();
        assert!(waiting.await.unwrap_err().is_cancelled());
        release.send(()).unwrap();
        let pool = Arc::into_inner(pool).unwrap();
        let gates = pool.gates.clone();
        drop(pool);
        assert_eq!(*log.lock().unwrap(), ["queued"]);
        assert!(gates.by_address.lock().unwrap().is_empty());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_ipv4_mapped_address_shares_the_gate_of_its_ipv4_form() {
        let pool = Pool::start(1).unwrap();
        let release = occupy(&pool).await;
        pool.run(ip("10.0.0.1"), Box::new(|_| {})).await.unwrap();
        {
            let mapped = pool.run(ip("::ffff:10.0.0.1"), Box::new(|_| {}));
            tokio::pin!(mapped);
            // The mapped form waits behind the plain one's queued job.
            assert!(futures::poll!(mapped.as_mut()).is_pending());
            assert_eq!(pool.queued(), 1);
            release.send(()).unwrap();
            mapped.await.unwrap();
        }
        drop(pool);
    }
}
