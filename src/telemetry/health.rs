//! Liveness and readiness endpoints for container hosts, driven by a shared [`HealthState`].
//!
//! * `GET /readyz`: 200 once the store is open and the source connected, else 503.
//! * `GET /livez`: 200 unless the pipeline is stalled: no batch committed for `stall_after`
//!   while the source reports a lag above zero (503). An idle consumer with nothing to read
//!   is alive.
//!
//! The server runs on its own thread with a small Tokio runtime, so it answers even while the
//! pipeline thread is busy in a commit. Hides axum.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;

/// What the pipeline tells the health endpoints. Cheap to update (atomics).
#[derive(Debug)]
pub struct HealthState {
    started: Instant,
    store_open: AtomicBool,
    source_connected: AtomicBool,
    /// Milliseconds since `started` of the last commit (or of start).
    last_commit_ms: AtomicU64,
    lag: AtomicU64,
    stall_after: Duration,
}

impl HealthState {
    pub fn new(stall_after: Duration) -> Arc<HealthState> {
        Arc::new(HealthState {
            started: Instant::now(),
            store_open: AtomicBool::new(false),
            source_connected: AtomicBool::new(false),
            last_commit_ms: AtomicU64::new(0),
            lag: AtomicU64::new(0),
            stall_after,
        })
    }

    pub fn set_store_open(&self, open: bool) {
        self.store_open.store(open, Ordering::Relaxed);
    }

    pub fn set_source_connected(&self, connected: bool) {
        self.source_connected.store(connected, Ordering::Relaxed);
    }

    /// A batch was committed: progress.
    pub fn committed(&self) {
        self.last_commit_ms.store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Total events enqueued but not committed, over all partitions.
    pub fn set_lag(&self, lag: u64) {
        self.lag.store(lag, Ordering::Relaxed);
    }

    pub fn ready(&self) -> bool {
        self.store_open.load(Ordering::Relaxed) && self.source_connected.load(Ordering::Relaxed)
    }

    /// Alive unless events are waiting and nothing was committed for `stall_after`.
    pub fn alive(&self) -> bool {
        let since = self
            .started
            .elapsed()
            .saturating_sub(Duration::from_millis(self.last_commit_ms.load(Ordering::Relaxed)));
        self.lag.load(Ordering::Relaxed) == 0 || since < self.stall_after
    }
}

/// A running health server; dropping it stops it.
pub struct HealthServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HealthServer {
    /// Bind `addr` (port 0 picks one) and serve `/livez` and `/readyz` from `state`.
    pub fn start(addr: SocketAddr, state: Arc<HealthState>) -> std::io::Result<HealthServer> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(addr))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = Router::new().route("/livez", get(livez)).route("/readyz", get(readyz)).with_state(state);
        let thread = std::thread::Builder::new().name("health".to_owned()).spawn(move || {
            runtime.block_on(async move {
                let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                    let _ = stopped.await;
                });
                if let Err(e) = serve.await {
                    tracing::warn!(error = %e, "health server stopped");
                }
            });
        })?;
        tracing::info!(%addr, "health endpoints /livez and /readyz listening");
        Ok(HealthServer { addr, stop: Some(stop), thread: Some(thread) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for HealthServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn livez(State(state): State<Arc<HealthState>>) -> (StatusCode, &'static str) {
    if state.alive() { (StatusCode::OK, "alive\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "stalled\n") }
}

async fn readyz(State(state): State<Arc<HealthState>>) -> (StatusCode, &'static str) {
    if state.ready() { (StatusCode::OK, "ready\n") } else { (StatusCode::SERVICE_UNAVAILABLE, "not ready\n") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A real HTTP/1.1 GET over TCP; returns the status code.
    fn get(addr: SocketAddr, path: &str) -> u16 {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response.split(' ').nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn readiness_and_liveness_follow_the_state_over_http() {
        let state = HealthState::new(Duration::from_secs(1));
        let server = HealthServer::start("127.0.0.1:0".parse().unwrap(), state.clone()).unwrap();
        let addr = server.addr();
        assert_eq!(get(addr, "/readyz"), 503, "store not open yet");
        state.set_store_open(true);
        assert_eq!(get(addr, "/readyz"), 503, "source not connected yet");
        state.set_source_connected(true);
        assert_eq!(get(addr, "/readyz"), 200);
        assert_eq!(get(addr, "/livez"), 200, "no lag: alive");
        state.set_lag(10);
        // Wait (no timing assertion) until the stall window has certainly passed.
        std::thread::sleep(Duration::from_millis(1_200));
        assert_eq!(get(addr, "/livez"), 503, "lag and no commit for longer than stall_after");
        state.committed();
        assert_eq!(get(addr, "/livez"), 200, "a commit is progress");
        state.set_lag(0);
        assert_eq!(get(addr, "/nope"), 404);
        drop(server);
        assert!(std::net::TcpStream::connect(addr).is_err(), "stopped on drop");
    }
}
