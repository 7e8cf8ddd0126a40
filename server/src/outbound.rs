//! One connection's queue of lines waiting to be written.
//!
//! The hub pushes encoded lines (shared `Bytes`, so a group message is serialized
//! once for all its members) without ever waiting; the connection's task drains
//! them. The queue is bounded by lines and by bytes. When a push would exceed the
//! bound, the queue closes itself as [`Closed::Overflow`]: the connection is
//! dropped and its undelivered messages wait in storage for the next one, so a
//! client that stops reading costs everyone else nothing.
//!
//! This is a small hand-made queue rather than a `tokio::sync::mpsc` channel
//! because an idle connection must cost almost nothing: an empty `VecDeque` owns
//! no allocation, and a drained queue gives its memory back.
//!
//! **Writing through.** Once a session is live on plain TCP it shares its
//! socket with the queue ([`Outbound::share`]). While its task waits for
//! something to happen ([`Outbound::release`] … [`Outbound::claim`]) and
//! nothing is queued, a push writes the lines to the socket at once, under
//! the queue's lock: a line to an idle client then costs no wake-up of its
//! task and no hop to another thread. What the socket does not take at once
//! is queued, and the task woken to write it with the usual stall timer. The
//! task holds the claim whenever it may write itself (handling a line,
//! awaiting the hub's reply to it, writing the queue), so the two never write
//! at the same time, and a line pushed after a reply never overtakes it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use std::future::Future;
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use classchat_common::OfferId;
use tokio::net::TcpStream;

use crate::session::conn::try_write_lines;

/// Why a queue stopped accepting lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The connection fell too far behind.
    Overflow,
    /// The hub let go of the connection (server shutting down, or it was removed).
    Dropped,
}

#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub lines: usize,
    pub bytes: usize,
}

#[derive(Debug, Default)]
struct State {
    lines: VecDeque<Bytes>,
    bytes: usize,
    closed: Option<Closed>,
    /// Downloads this connection must stop: its user is no longer a
    /// recipient of these offers (they left or were removed from the group).
    stops: Vec<OfferId>,
    /// Something happened since the connection last looked.
    news: bool,
    /// The connection's task, waiting for news.
    waiter: Option<Waker>,
    /// The connection's socket, when pushes may write to it themselves.
    socket: Option<Arc<TcpStream>>,
    /// The connection's task may be writing: pushes only queue.
    claimed: bool,
}

impl State {
    /// Marks news; the waiting task to wake, once the lock is let go.
    fn news(&mut self) -> Option<Waker> {
        self.news = true;
        self.waiter.take()
    }
}

#[derive(Debug)]
struct Shared {
    // Held only to push, swap out or close; never across an await or a write.
    state: Mutex<State>,
    bounds: Bounds,
    /// Milliseconds the connection is to stop reading its client's lines
    /// (0: none): set by the hub when it refuses a request for its rate.
    hold: AtomicU64,
}

/// A cheap handle; the hub keeps one, the connection's task another.
#[derive(Debug, Clone)]
pub struct Outbound(Arc<Shared>);

impl Outbound {
    pub fn new(bounds: Bounds) -> Self {
        Self(Arc::new(Shared {
            state: Mutex::new(State::default()),
            bounds,
            hold: AtomicU64::new(0),
        }))
    }

    /// Queues a line. Fails if the queue is closed or the line would overflow it;
    /// an overflow closes the queue.
    pub fn push(&self, line: Bytes) -> Result<(), Closed> {
        self.push_all(vec![line])
    }

    /// Queues several lines under one lock and with at most one wake-up: the
    /// hub gathers what a batch sends each session and pushes it at once.
    /// Fails if the queue is closed or the lines would overflow it; an
    /// overflow closes the queue (and drops what it held: the connection is
    /// going, and its messages wait in storage).
    pub fn push_all(&self, lines: Vec<Bytes>) -> Result<(), Closed> {
        let Ok(mut s) = self.0.state.lock() else {
            return Err(Closed::Dropped);
        };
        if let Some(closed) = s.closed {
            return Err(closed);
        }
        let bytes: usize = lines.iter().map(Bytes::len).sum();
        if s.lines.len() + lines.len() > self.0.bounds.lines
            || s.bytes + bytes > self.0.bounds.bytes
        {
            s.closed = Some(Closed::Overflow);
            s.lines = VecDeque::new();
            s.bytes = 0;
            let waiter = s.news();
            drop(s);
            if let Some(w) = waiter {
                w.wake();
            }
            return Err(Closed::Overflow);
        }
        let was_empty = s.lines.is_empty();
        // Reuses the vector's allocation; nothing is copied.
        let mut lines = VecDeque::from(lines);
        if was_empty
            && !s.claimed
            && let Some(socket) = &s.socket
            && try_write_lines(socket, &mut lines).is_ok()
            && lines.is_empty()
        {
            return Ok(());
        }
        // What the socket did not take (or an error, which the task meets
        // when it writes) waits for the task.
        s.bytes += lines.iter().map(Bytes::len).sum::<usize>();
        if was_empty {
            s.lines = lines;
        } else {
            s.lines.extend(lines);
        }
        let waiter = (was_empty && !s.lines.is_empty())
            .then(|| s.news())
            .flatten();
        drop(s);
        if let Some(w) = waiter {
            w.wake();
        }
        Ok(())
    }

    /// Lets pushes write to `socket` themselves while the task does not hold
    /// the claim (it holds it from the start).
    pub fn share(&self, socket: Arc<TcpStream>) {
        if let Ok(mut s) = self.0.state.lock() {
            s.claimed = true;
            s.socket = Some(socket);
        }
    }

    /// Pushes write to the socket no more, and let go of it: the
    /// connection is ending.
    pub fn unshare(&self) {
        let socket = self.0.state.lock().ok().and_then(|mut s| s.socket.take());
        drop(socket);
    }

    /// The task may write to the socket from now on: pushes only queue.
    pub fn claim(&self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.claimed = true;
        }
    }

    /// The task waits and writes nothing until it claims again: pushes may
    /// write to the socket themselves, as long as nothing is queued.
    pub fn release(&self) {
        if let Ok(mut s) = self.0.state.lock() {
            s.claimed = false;
        }
    }

    /// Asks the connection to read nothing from its client for `ms`
    /// milliseconds (the longest asked for since it last looked).
    pub fn hold_reading(&self, ms: u64) {
        self.0.hold.fetch_max(ms, Ordering::Relaxed);
    }

    /// How long to stop reading, if the hub asked since the last call.
    pub fn take_hold(&self) -> Option<u64> {
        // A plain load first: nearly always there is nothing, and then the
        // cache line is not written.
        if self.0.hold.load(Ordering::Relaxed) == 0 {
            return None;
        }
        Some(self.0.hold.swap(0, Ordering::Relaxed)).filter(|&ms| ms > 0)
    }

    /// Tells the connection to stop sending `offer`'s file, if it is.
    pub fn stop_download(&self, offer: OfferId) {
        let waiter = self.0.state.lock().ok().and_then(|mut s| {
            s.stops.push(offer);
            s.news()
        });
        if let Some(w) = waiter {
            w.wake();
        }
    }

    /// The downloads to stop since the last call.
    pub fn take_stops(&self) -> Vec<OfferId> {
        self.0
            .state
            .lock()
            .map(|mut s| std::mem::take(&mut s.stops))
            .unwrap_or_default()
    }

    /// Closes the queue; lines already queued may still be taken.
    pub fn close(&self, why: Closed) {
        let waiter = self.0.state.lock().ok().and_then(|mut s| {
            s.closed.get_or_insert(why);
            s.news()
        });
        if let Some(w) = waiter {
            w.wake();
        }
    }

    pub fn is_closed(&self) -> bool {
        self.0.state.lock().map_or(true, |s| s.closed.is_some())
    }

    /// Takes every queued line at once, and whether the queue is closed.
    pub fn take(&self) -> (VecDeque<Bytes>, Option<Closed>) {
        match self.0.state.lock() {
            Ok(mut s) => {
                s.bytes = 0;
                (std::mem::take(&mut s.lines), s.closed)
            }
            Err(_) => (VecDeque::new(), Some(Closed::Dropped)),
        }
    }

    /// Resolves when lines were pushed, a download was stopped or the queue
    /// was closed since it last resolved. Polled in place, so waiting takes
    /// no room in the connection's state beyond a reference.
    pub fn ready(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| self.poll_ready(cx))
    }

    fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<()> {
        let Ok(mut s) = self.0.state.lock() else {
            // Poisoned: nothing will come; the connection finds it closed.
            return Poll::Ready(());
        };
        if std::mem::take(&mut s.news) {
            return Poll::Ready(());
        }
        match &mut s.waiter {
            Some(w) if w.will_wake(cx.waker()) => {}
            waiter => *waiter = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(lines: usize, bytes: usize) -> Outbound {
        Outbound::new(Bounds { lines, bytes })
    }

    #[test]
    fn lines_come_out_in_the_order_they_went_in() {
        let q = queue(10, 1000);
        for s in ["a", "b", "c"] {
            q.push(Bytes::from(s)).unwrap();
        }
        let (lines, closed) = q.take();
        assert_eq!(lines, ["a", "b", "c"]);
        assert_eq!(closed, None);
        assert!(q.take().0.is_empty());
    }

    #[test]
    fn exceeding_either_bound_closes_the_queue_for_good() {
        let q = queue(2, 1000);
        q.push(Bytes::from("a")).unwrap();
        q.push(Bytes::from("b")).unwrap();
        assert_eq!(q.push(Bytes::from("c")), Err(Closed::Overflow));
        assert_eq!(q.push(Bytes::from("d")), Err(Closed::Overflow));
        assert_eq!(q.take().1, Some(Closed::Overflow));

        let q = queue(100, 4);
        q.push(Bytes::from("abc")).unwrap();
        assert_eq!(q.push(Bytes::from("de")), Err(Closed::Overflow));
    }

    #[test]
    fn pushing_several_at_once_keeps_order_and_the_same_bounds() {
        let q = queue(4, 1000);
        q.push(Bytes::from("a")).unwrap();
        q.push_all(vec![Bytes::from("b"), Bytes::from("c")])
            .unwrap();
        q.push_all(Vec::new()).unwrap();
        assert_eq!(q.take().0, ["a", "b", "c"]);
        q.push_all(vec![Bytes::from("d"), Bytes::from("e")])
            .unwrap();
        assert_eq!(q.take().0, ["d", "e"]);

        let q = queue(3, 1000);
        q.push(Bytes::from("a")).unwrap();
        let three = vec![Bytes::from("b"), Bytes::from("c"), Bytes::from("d")];
        assert_eq!(q.push_all(three), Err(Closed::Overflow));
        assert_eq!(q.push(Bytes::from("e")), Err(Closed::Overflow));

        let q = queue(100, 4);
        let five_bytes = vec![Bytes::from("abc"), Bytes::from("de")];
        assert_eq!(q.push_all(five_bytes), Err(Closed::Overflow));
    }

    #[tokio::test]
    async fn a_stopped_download_wakes_the_connection_and_is_taken_once() {
        let q = queue(10, 100);
        let offer = OfferId::new();
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move {
                q.ready().await;
                q.take_stops()
            })
        };
        tokio::task::yield_now().await;
        q.stop_download(offer);
        assert_eq!(waiter.await.unwrap(), [offer]);
        assert!(q.take_stops().is_empty());
        assert!(q.take().0.is_empty(), "no line came with it");
    }

    /// A queue sharing the server's end of a loopback connection, and the
    /// client's end.
    async fn shared(bytes: usize) -> (Outbound, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let q = queue(10, bytes);
        q.share(Arc::new(server));
        (q, client)
    }

    async fn read_exactly(client: &mut TcpStream, n: usize) -> Vec<u8> {
        use tokio::io::AsyncReadExt as _;
        let mut got = vec![0; n];
        client.read_exact(&mut got).await.unwrap();
        got
    }

    /// Whether the connection's task would be woken now.
    fn has_news(q: &Outbound) -> bool {
        let waker = futures::task::noop_waker();
        q.poll_ready(&mut Context::from_waker(&waker)).is_ready()
    }

    /// While the task waits and nothing is queued, a push goes straight to
    /// the socket and wakes no one; while it holds the claim, or once
    /// something is queued, pushes queue behind, in order.
    #[tokio::test]
    async fn a_push_to_a_waiting_connection_is_written_through() {
        let (q, mut client) = shared(1000).await;
        assert!(!has_news(&q));
        q.push_all(vec![Bytes::from("a\n"), Bytes::from("b\n")])
            .unwrap();
        assert!(has_news(&q));
        assert_eq!(q.take().0, ["a\n", "b\n"], "claimed from the start: queued");

        q.release();
        q.push_all(vec![Bytes::from("c\n"), Bytes::from("d\n")])
            .unwrap();
        assert!(q.take().0.is_empty(), "written through");
        assert!(!has_news(&q), "the task is not woken");
        assert_eq!(read_exactly(&mut client, 4).await, b"c\nd\n");

        q.claim();
        q.push(Bytes::from("e\n")).unwrap();
        q.release();
        q.push(Bytes::from("f\n")).unwrap();
        assert!(has_news(&q));
        assert_eq!(q.take().0, ["e\n", "f\n"], "behind what was queued");

        q.unshare();
        q.push(Bytes::from("g\n")).unwrap();
        assert_eq!(q.take().0, ["g\n"], "the socket is no longer shared");
    }

    /// What the socket does not take at once is queued from the first byte
    /// it did not take, and the task is woken to write it.
    #[tokio::test]
    async fn what_the_socket_does_not_take_is_queued_from_where_it_stopped() {
        let (q, mut client) = shared(64 << 20).await;
        q.release();
        let big: Vec<u8> = (0..16u32 << 20).map(|i| (i % 251) as u8).collect();
        q.push_all(vec![Bytes::from(big.clone()), Bytes::from("tail\n")])
            .unwrap();
        assert!(has_news(&q));
        let (rest, _) = q.take();
        let queued: usize = rest.iter().map(Bytes::len).sum();
        assert!(queued > 5 && queued < big.len() + 5, "{queued}");
        assert_eq!(rest.back().unwrap(), "tail\n");
        let written = big.len() + 5 - queued;
        assert_eq!(read_exactly(&mut client, written).await, big[..written]);
        assert_eq!(rest[0], big[written..]);
    }

    #[tokio::test]
    async fn a_push_wakes_the_waiting_connection() {
        let q = queue(10, 100);
        let waiter = {
            let q = q.clone();
            tokio::spawn(async move {
                q.ready().await;
                q.take().0.len()
            })
        };
        tokio::task::yield_now().await;
        q.push(Bytes::from("x")).unwrap();
        assert_eq!(waiter.await.unwrap(), 1);
    }
}
