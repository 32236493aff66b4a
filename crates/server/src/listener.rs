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
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

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
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // Our own clocks replace hyper's (see the module's doc); Go's server has none.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(None);
    let builder = Arc::new(builder);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or memory for a moment: wait rather than spin
                    // (axum::serve and Go's server do the same).
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let conn = Connection {
            router: router.clone(),
            builder: builder.clone(),
            limits: limits.clone(),
            peer,
        };
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            conn.serve(stream, tls, watcher).await;
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!(
        timeout_s = limits.shutdown_timeout.as_secs_f64(),
        "no longer accepting connections; waiting for requests in flight"
    );
    if tokio::time::timeout(limits.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at the shutdown timeout were cut off");
    }
}

struct Connection {
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    limits: ConnectionLimits,
    peer: SocketAddr,
}

impl Connection {
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

/// A connection's IO that times out by the [`Clocks`] (see the module's doc).
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
