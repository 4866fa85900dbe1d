//! The accept loop both servers share.
//!
//! Not `axum::serve`: that spawns each connection as a free task, so a
//! response stalled on purpose (fault injection) would outlive the server.
//! Here connections live in a `JoinSet` owned by the server task, so stopping
//! the server ends them all.

use futures::future::BoxFuture;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};

/// A running server; stops when dropped.
#[derive(Debug)]
pub(crate) struct ServerTask {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

type ServeConn = Box<dyn Fn(TokioIo<TcpStream>) -> BoxFuture<'static, ()> + Send + Sync>;

impl ServerTask {
    /// Binds `127.0.0.1:port` (0 picks a free port).
    pub(crate) async fn listen(port: u16) -> std::io::Result<TcpListener> {
        TcpListener::bind(("127.0.0.1", port)).await
    }

    /// Serves each connection accepted on `listener` with `serve`.
    pub fn spawn(listener: TcpListener, serve: ServeConn) -> std::io::Result<ServerTask> {
        let addr = listener.local_addr()?;
        let (stop, mut stop_rx) = oneshot::channel();
        let task = tokio::spawn(async move {
            let mut conns = JoinSet::new();
            loop {
                tokio::select! {
                    _ = &mut stop_rx => break,
                    accepted = listener.accept() => match accepted {
                        Ok((socket, _)) => {
                            let _ = socket.set_nodelay(true);
                            conns.spawn(serve(TokioIo::new(socket)));
                        }
                        // Out of file descriptors and the like: back off instead of spinning.
                        Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
                    },
                    Some(_) = conns.join_next(), if !conns.is_empty() => {}
                }
            }
            // Dropping `conns` here aborts every open connection.
        });
        Ok(ServerTask {
            addr,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Stops accepting, ends open connections and waits for the task.
    pub async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ServerTask {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
