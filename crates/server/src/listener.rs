//! Serving a router on a socket, with the limits an operator expects: at most
//! `max_connections` connections at once (more wait in the kernel's accept queue, so
//! one client cannot use up the file descriptors), a connection that is idle too long
//! or too slow to send a request head is closed, HTTPS when a certificate is given,
//! and a shutdown that lets requests in flight finish.
//!
//! `axum::serve` has none of these limits and no TLS, so connections are served here
//! with hyper-util, as axum's `serve-with-hyper` and `tls-rustls` examples do.
//!
//! # Timeouts
//!
//! hyper's own `header_read_timeout` starts when a keep-alive connection becomes idle,
//! so it cannot tell an idle client from a slow one. [`Watched`] wraps the connection
//! and keeps two clocks, checked whenever hyper waits for bytes and no request is in
//! flight:
//!
//! - idle: no request in flight and no bytes either way for `idle_timeout`;
//! - head: the first byte of a request arrived `read_header_timeout` ago and the
//!   request has not reached the router yet (a slowloris client). The TLS handshake
//!   is bounded by the same time.
//!
//! While a request is in flight neither clock runs: a slow upstream in proxy mode or a
//! large download is not cut off.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// What a listener serves: the API ([`crate::Api`]) or an axum `Router`.
pub trait Service:
    tower::Service<
        axum::extract::Request,
        Response = axum::response::Response,
        Error = std::convert::Infallible,
        Future: Send,
    > + Clone
    + Send
    + Sync
    + 'static
{
}

impl<S> Service for S where
    S: tower::Service<
            axum::extract::Request,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future: Send,
        > + Clone
        + Send
        + Sync
        + 'static
{
}

/// The limits of one listener.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    pub read_header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
    /// How long requests in flight may take to finish once shutdown begins.
    pub shutdown_timeout: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            read_header_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_connections: 4096,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// Whether the connection was served over TLS; a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tls(pub bool);

/// Serves `router` on `listener` until `shutdown` completes, then waits up to
/// `shutdown_timeout` for the connections' requests in flight. Each request carries
/// [`ConnectInfo<SocketAddr>`] and [`Tls`] in its extensions.
///
/// The connections are served on the calling runtime; [`serve_on_threads`] is the
/// faster way for the API.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: impl Service,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let server = Server::new(tls, router, limits);
    tokio::pin!(shutdown);
    while let Some((stream, peer, permit)) = accept(&listener, &permits, &mut shutdown).await {
        server.spawn(stream, peer, &graceful, permit);
    }
    drop(listener);
    log_draining(server.limits.shutdown_timeout);
    drain(graceful, server.limits.shutdown_timeout).await;
}

/// [`serve`] by `threads` threads, each with a single-threaded runtime of its own.
/// The calling task accepts connections and hands each to the thread serving the
/// fewest, where it stays (actix-web's design). `max_connections` holds for all
/// threads together.
///
/// Why: on tokio's work-stealing runtime a small answer cost a third more CPU than on
/// one thread (workers wake each other for every request), and the access log, which
/// adds work to every request, made that worse (docs/PERFORMANCE.md, "HTTPS,
/// metrics and the access log"; where Kibana's `/search` stands against nginx now:
/// "Kibana's `/search` against nginx"). Threads accepting from the shared socket
/// themselves were as fast but unbalanced: one thread often took all of a burst of
/// new connections and the other stayed idle.
///
/// Blocking work started by requests (`spawn_blocking`) runs in the pool of the
/// thread's runtime: at most [`MAX_BLOCKING_THREADS`] threads in all.
pub async fn serve_on_threads(
    listener: TcpListener,
    threads: std::num::NonZeroUsize,
    tls: Option<TlsAcceptor>,
    router: impl Service,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let server = Arc::new(Server::new(tls, router, limits));
    let blocking = (MAX_BLOCKING_THREADS / threads.get()).max(1);
    let workers = (0..threads.get())
        .map(|n| Worker::start(n, blocking, server.clone()))
        .collect::<io::Result<Vec<_>>>()?;
    let permits = Arc::new(Semaphore::new(server.limits.max_connections));
    tokio::pin!(shutdown);
    while let Some((stream, peer, permit)) = accept(&listener, &permits, &mut shutdown).await {
        let worker = workers
            .iter()
            .min_by_key(|w| w.connections.load(Ordering::Relaxed))
            .expect("at least one thread");
        worker.hand_over(stream, peer, permit);
    }
    drop(listener);
    log_draining(server.limits.shutdown_timeout);
    for worker in workers {
        worker.finish().await;
    }
    Ok(())
}

/// The threads that blocking work of requests may use, over all of
/// [`serve_on_threads`]' runtimes (tokio's default for one runtime).
pub const MAX_BLOCKING_THREADS: usize = 512;

/// The next connection and its permit, or `None` once `shutdown` completes.
async fn accept(
    listener: &TcpListener,
    permits: &Arc<Semaphore>,
    shutdown: &mut Pin<&mut impl Future<Output = ()>>,
) -> Option<(TcpStream, SocketAddr, OwnedSemaphorePermit)> {
    loop {
        if permits.available_permits() == 0 {
            warn_at_capacity();
        }
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = shutdown.as_mut() => return None,
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => return Some((stream, peer, permit)),
                Err(error) => {
                    // Out of descriptors or memory for a moment: wait rather than spin
                    // (axum::serve and Go's server do the same).
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            () = shutdown.as_mut() => return None,
        }
    }
}

/// Says, at most once a minute, that new connections wait for a free slot: an
/// operator whose clients time out then knows why.
fn warn_at_capacity() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last = LAST.load(Ordering::Relaxed);
    if now >= last + 60
        && LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
    {
        tracing::warn!(
            "every connection slot is in use: new connections wait until one closes (--max-connections, --idle-timeout, --read-header-timeout)"
        );
    }
}

fn log_draining(timeout: Duration) {
    tracing::info!(
        timeout_s = timeout.as_secs_f64(),
        "no longer accepting connections; waiting for requests in flight"
    );
}

/// Lets the connections finish their requests in flight, for at most `timeout`.
async fn drain(graceful: GracefulShutdown, timeout: Duration) {
    if tokio::time::timeout(timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at the shutdown timeout were cut off");
    }
}

/// What serving a connection needs, the same for every connection.
struct Server<S> {
    tls: Option<TlsAcceptor>,
    router: S,
    limits: ConnectionLimits,
    http: Arc<auto::Builder<TokioExecutor>>,
}

impl<S: Service> Server<S> {
    fn new(tls: Option<TlsAcceptor>, router: S, limits: ConnectionLimits) -> Server<S> {
        let mut http = auto::Builder::new(TokioExecutor::new());
        // Our own clocks replace hyper's (see the module's doc); Go's server has none.
        http.http1()
            .timer(TokioTimer::new())
            .header_read_timeout(None);
        Server {
            tls,
            router,
            limits,
            http: Arc::new(http),
        }
    }

    /// Serves the connection on the current runtime; `done` is dropped at its end.
    fn spawn(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        graceful: &GracefulShutdown,
        done: impl Send + 'static,
    ) {
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            router: self.router.clone(),
            builder: self.http.clone(),
            limits: self.limits.clone(),
            peer,
        };
        let watcher = graceful.watcher();
        let tls = self.tls.clone();
        tokio::spawn(async move {
            conn.serve(stream, tls, watcher).await;
            drop(done);
        });
    }
}

/// A thread serving the connections handed to it, on a runtime of its own.
struct Worker {
    handed: tokio::sync::mpsc::UnboundedSender<Handed>,
    /// Connections open on this thread.
    connections: Arc<AtomicUsize>,
    finished: tokio::sync::oneshot::Receiver<()>,
}

/// An accepted connection on its way to a [`Worker`].
struct Handed {
    stream: std::net::TcpStream,
    peer: SocketAddr,
    done: (OwnedSemaphorePermit, Counted),
}

/// One of a worker's open connections; dropping it counts the connection closed.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Worker {
    fn start<S: Service>(
        n: usize,
        blocking_threads: usize,
        server: Arc<Server<S>>,
    ) -> io::Result<Worker> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(blocking_threads)
            .thread_name(format!("http-{n}-blocking"))
            .build()?;
        let (handed, mut incoming) = tokio::sync::mpsc::unbounded_channel::<Handed>();
        let (finish, finished) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name(format!("http-{n}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let graceful = GracefulShutdown::new();
                    // Ends when the acceptor stops handing over connections.
                    while let Some(Handed { stream, peer, done }) = incoming.recv().await {
                        match TcpStream::from_std(stream) {
                            Ok(stream) => server.spawn(stream, peer, &graceful, done),
                            Err(error) => {
                                tracing::warn!(%peer, %error, "cannot serve a connection")
                            }
                        }
                    }
                    drain(graceful, server.limits.shutdown_timeout).await;
                });
                let _ = finish.send(());
            })?;
        Ok(Worker {
            handed,
            connections: Arc::new(AtomicUsize::new(0)),
            finished,
        })
    }

    fn hand_over(&self, stream: TcpStream, peer: SocketAddr, permit: OwnedSemaphorePermit) {
        let stream = match stream.into_std() {
            Ok(stream) => stream,
            Err(error) => {
                tracing::warn!(%peer, %error, "cannot hand over a connection");
                return;
            }
        };
        self.connections.fetch_add(1, Ordering::Relaxed);
        let done = (permit, Counted(self.connections.clone()));
        // The thread only stops once `handed` is dropped, so this cannot fail.
        let _ = self.handed.send(Handed { stream, peer, done });
    }

    /// Stops handing over connections and waits for the thread's to finish.
    async fn finish(self) {
        drop(self.handed);
        let _ = self.finished.await;
    }
}

struct Connection<S> {
    router: S,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: ConnectionLimits,
    peer: SocketAddr,
}

impl<S: Service> Connection<S> {
    async fn serve(
        self,
        stream: TcpStream,
        tls: Option<TlsAcceptor>,
        watcher: hyper_util::server::graceful::Watcher,
    ) {
        let clocks = Arc::new(Mutex::new(Clocks::new()));
        match tls {
            None => {
                let io = Watched::new(stream, clocks.clone(), &self.limits);
                self.serve_io(io, clocks, false, watcher).await
            }
            Some(acceptor) => {
                let handshake = acceptor.accept(stream);
                match tokio::time::timeout(self.limits.read_header_timeout, handshake).await {
                    Ok(Ok(stream)) => {
                        let io = Watched::new(stream, clocks.clone(), &self.limits);
                        self.serve_io(io, clocks, true, watcher).await
                    }
                    Ok(Err(error)) => {
                        tracing::debug!(peer = %self.peer, %error, "TLS handshake failed")
                    }
                    Err(_) => tracing::debug!(peer = %self.peer, "TLS handshake timed out"),
                }
            }
        }
    }

    async fn serve_io<IO>(
        self,
        io: Watched<IO>,
        clocks: Arc<Mutex<Clocks>>,
        tls: bool,
        watcher: hyper_util::server::graceful::Watcher,
    ) where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (router, peer) = (self.router, self.peer);
        let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
            let in_flight = InFlight::begin(&clocks);
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(Tls(tls));
            let router = router.clone();
            async move {
                let res = router.oneshot(req.map(Body::new)).await;
                drop(in_flight);
                res
            }
        });
        let conn = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(io), service);
        if let Err(error) = watcher.watch(conn.into_owned()).await {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    }
}

/// The clocks of one connection, shared by its IO and its requests.
#[derive(Debug)]
struct Clocks {
    in_flight: usize,
    /// When bytes last moved either way, or a request finished.
    last_activity: Instant,
    /// When the first byte of a request head arrived, until the request is routed.
    head_started: Option<Instant>,
    /// The read that found a request in flight, and so set no deadline: woken when
    /// the last request finishes, so that the idle clock starts.
    parked_read: Option<std::task::Waker>,
}

impl Clocks {
    fn new() -> Clocks {
        Clocks {
            in_flight: 0,
            last_activity: Instant::now(),
            head_started: None,
            parked_read: None,
        }
    }

    /// When the connection must be closed if nothing happens; `None` while a
    /// request is in flight.
    fn deadline(&self, limits: &Limits) -> Option<Instant> {
        if self.in_flight > 0 {
            return None;
        }
        Some(match self.head_started {
            Some(start) => start + limits.read_header,
            None => self.last_activity + limits.idle,
        })
    }
}

fn lock(clocks: &Mutex<Clocks>) -> std::sync::MutexGuard<'_, Clocks> {
    // Clocks hold plain values: a panic elsewhere leaves them usable.
    clocks.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request being served: the clocks stop until it is dropped.
struct InFlight(Arc<Mutex<Clocks>>);

impl InFlight {
    fn begin(clocks: &Arc<Mutex<Clocks>>) -> InFlight {
        let mut c = lock(clocks);
        c.in_flight += 1;
        c.head_started = None;
        InFlight(clocks.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut c = lock(&self.0);
        c.in_flight -= 1;
        c.last_activity = Instant::now();
        if c.in_flight == 0
            && let Some(read) = c.parked_read.take()
        {
            read.wake();
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Limits {
    read_header: Duration,
    idle: Duration,
}

/// A connection's IO that times out by the `Clocks` (see the module's doc).
pub struct Watched<IO> {
    inner: IO,
    clocks: Arc<Mutex<Clocks>>,
    limits: Limits,
    sleep: Pin<Box<Sleep>>,
}

impl<IO> Watched<IO> {
    fn new(inner: IO, clocks: Arc<Mutex<Clocks>>, limits: &ConnectionLimits) -> Watched<IO> {
        Watched {
            inner,
            clocks,
            limits: Limits {
                read_header: limits.read_header_timeout,
                idle: limits.idle_timeout,
            },
            sleep: Box::pin(tokio::time::sleep(limits.idle_timeout)),
        }
    }

    /// Called when a read is pending: `Ready` if the connection is past its deadline.
    fn poll_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let deadline = {
            let mut c = lock(&self.clocks);
            match c.deadline(&self.limits) {
                Some(deadline) => deadline,
                None => {
                    c.parked_read = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        };
        if self.sleep.deadline() != deadline {
            self.sleep.as_mut().reset(deadline);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(io::Error::new(
                io::ErrorKind::TimedOut,
                "connection idle or request head too slow",
            )),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Watched<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    let now = Instant::now();
                    let mut c = lock(&self.clocks);
                    c.last_activity = now;
                    if c.in_flight == 0 && c.head_started.is_none() {
                        c.head_started = Some(now);
                    }
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.poll_deadline(cx).map(Err),
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Watched<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            lock(&self.clocks).last_activity = Instant::now();
        }
        result
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result
            && n > 0
        {
            lock(&self.clocks).last_activity = Instant::now();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Asks over `conn` which thread serves it (the connection stays open).
    async fn served_by(conn: &mut TcpStream) -> String {
        conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 1024];
        while !answer.ends_with(b"END") {
            let n = conn.read(&mut buf).await.unwrap();
            assert!(
                n > 0,
                "connection closed: {}",
                String::from_utf8_lossy(&answer)
            );
            answer.extend_from_slice(&buf[..n]);
        }
        let text = String::from_utf8(answer).unwrap();
        let body = text.split("\r\n\r\n").nth(1).unwrap();
        body.trim_end_matches("END").to_string()
    }

    #[tokio::test]
    async fn connections_go_to_the_thread_serving_the_fewest() {
        let router = axum::Router::new().route(
            "/",
            axum::routing::get(|| async {
                format!("{}END", std::thread::current().name().unwrap_or("?"))
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_on_threads(
            listener,
            std::num::NonZeroUsize::new(2).unwrap(),
            None,
            router,
            ConnectionLimits::default(),
            async {
                let _ = stopped.await;
            },
        ));
        let mut threads = Vec::new();
        let mut open = Vec::new();
        for _ in 0..4 {
            let mut conn = TcpStream::connect(address).await.unwrap();
            threads.push(served_by(&mut conn).await);
            open.push(conn);
        }
        assert_eq!(threads, ["http-0", "http-1", "http-0", "http-1"]);
        // A second request on a connection stays on its thread.
        assert_eq!(served_by(&mut open[1]).await, "http-1");
        // Once both connections of http-0 close, it takes the next two. (The server
        // notices a close asynchronously: until it does, a new one may go to http-1.)
        drop(open.remove(2));
        drop(open.remove(0));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let mut conn = TcpStream::connect(address).await.unwrap();
            if served_by(&mut conn).await == "http-0" {
                open.push(conn);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "http-0 took no connection"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let mut conn = TcpStream::connect(address).await.unwrap();
        assert_eq!(served_by(&mut conn).await, "http-0");
        drop(open);
        let _ = stop.send(());
        server.await.unwrap().unwrap();
    }
}
