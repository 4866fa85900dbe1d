//! A minimal static server for the published site (`pipeline --serve`):
//! the embedded S3's site folder, with the headers CloudFront sends
//! (`serverless.yml`'s `SiteSecurityHeaders`: the CSP, HSTS, nosniff, no
//! framing, the referrer policy) and each object's type, so what a reader
//! sees can be checked before deploying.

use std::path::PathBuf;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

/// CloudFront's response headers policy, as `serverless.yml` sets it.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("content-security-policy", "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    ("strict-transport-security", "max-age=63072000; includeSubDomains"),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "strict-origin-when-cross-origin"),
];

/// The type (and encoding) UpdateSite stores each kind of object with.
fn content_type(rel: &str) -> Option<(&'static str, Option<&'static str>)> {
    let ext = rel.rsplit_once('.').map(|(_, e)| e)?;
    Some(match ext {
        "html" => ("text/html; charset=utf-8", None),
        "css" => ("text/css; charset=utf-8", None),
        "js" => ("text/javascript; charset=utf-8", None),
        "json" => ("application/json", None),
        "svg" => ("image/svg+xml", None),
        "xml" => ("application/atom+xml; charset=utf-8", None),
        "gz" if rel.ends_with(".csv.gz") => ("text/csv; charset=utf-8", Some("gzip")),
        _ => return None,
    })
}

async fn file(dir: PathBuf, rel: &str) -> Response {
    let safe = !rel.is_empty()
        && rel
            .split('/')
            .all(|p| !p.is_empty() && p != ".." && !p.starts_with('.'));
    let Some((kind, encoding)) = content_type(rel).filter(|_| safe) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(dir.join(rel)).await {
        Ok(body) => {
            let mut res = (
                [
                    (header::CONTENT_TYPE, kind),
                    (header::CACHE_CONTROL, "no-cache"),
                ],
                body,
            )
                .into_response();
            let h = res.headers_mut();
            for (name, value) in SECURITY_HEADERS {
                h.insert(name, header::HeaderValue::from_static(value));
            }
            if let Some(e) = encoding {
                h.insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static(e),
                );
            }
            res
        }
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Where the run viewer's page is served beside the site.
pub const VIEW_PATH: &str = "/_run/";

/// Serves `dir` on 127.0.0.1:`port` until Ctrl-C, and the run's view (the
/// folder `asl view` wrote) under [`VIEW_PATH`].
pub async fn serve(dir: PathBuf, view: Option<PathBuf>, port: u16) -> std::io::Result<()> {
    let index_dir = dir.clone();
    let mut app = Router::new().route("/", get(move || file(index_dir.clone(), "index.html")));
    if let Some(view) = view {
        let (v1, v2) = (view.clone(), view);
        app = app
            .route("/_run/", get(move || file(v1.clone(), "index.html")))
            .route(
                "/_run/{*path}",
                get(move |UrlPath(path): UrlPath<String>| {
                    let dir = v2.clone();
                    async move { file(dir, &path).await }
                }),
            );
    }
    let app = app
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
    let addr = listener.local_addr()?;
    eprintln!("serving the site at http://{addr}/ and the run at http://{addr}{VIEW_PATH} (Ctrl-C to stop)");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
