//! A minimal static server for the published site (`pipeline --serve`):
//! `index.html` and `archive/*.html` from the embedded S3's site folder,
//! with the headers UpdateSite sets.

use std::path::PathBuf;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

async fn file(dir: PathBuf, rel: &str) -> Response {
    let safe = !rel.is_empty()
        && rel
            .split('/')
            .all(|p| !p.is_empty() && p != ".." && !p.starts_with('.'));
    if !safe || !rel.ends_with(".html") {
        return StatusCode::NOT_FOUND.into_response();
    }
    match tokio::fs::read(dir.join(rel)).await {
        Ok(body) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            body,
        )
            .into_response(),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Serves `dir` on 127.0.0.1:`port` until Ctrl-C.
pub async fn serve(dir: PathBuf, port: u16) -> std::io::Result<()> {
    let index_dir = dir.clone();
    let app = Router::new()
        .route("/", get(move || file(index_dir.clone(), "index.html")))
        .route(
            "/{*path}",
            get(
                |State(dir): State<PathBuf>, UrlPath(path): UrlPath<String>| async move {
                    file(dir, &path).await
                },
            ),
        )
        .with_state(dir);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    eprintln!(
        "serving the site at http://{}/ (Ctrl-C to stop)",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
