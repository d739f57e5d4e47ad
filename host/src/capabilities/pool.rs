//! Keep-alive connections for the instances' outgoing requests, shared by all of them:
//! a send reuses an idle HTTP/1.1 connection to the same origin instead of paying a TCP
//! (and TLS) handshake each time.
//!
//! Responses are read whole here (Graph answers are small; media downloads at most
//! [`MAX_RESPONSE_BODY`], which the guest then reads in pieces), so that a connection is
//! idle again, and back in the pool, as soon as its answer is in. A request that found its pooled connection closed before any of
//! it was written is sent on a fresh one; once written, nothing is sent twice.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::net::TcpStream;
use wasmtime_wasi_http::{Error, RequestOptions};

/// Idle connections kept per origin.
pub const MAX_IDLE_PER_ORIGIN: usize = 64;
/// The largest response read: Meta's largest media file (a 100 MB document) and some.
pub const MAX_RESPONSE_BODY: usize = 101 << 20;
/// When the guest gives no timeouts.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

type Sender = SendRequest<Full<Bytes>>;

/// The pool: idle connections by origin.
#[derive(Default)]
pub struct Pool {
    idle: Mutex<HashMap<String, Vec<Sender>>>,
    tls: OnceLock<tokio_rustls::TlsConnector>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").finish_non_exhaustive()
    }
}

struct Target {
    key: String,
    tls: bool,
    host: String,
    addr: String,
}

fn target(uri: &http::Uri) -> Result<Target, Error> {
    let authority = uri.authority().ok_or(Error::HttpRequestUriInvalid)?;
    let tls = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
    let port = authority.port_u16().unwrap_or(if tls { 443 } else { 80 });
    let host = authority.host().to_string();
    let addr = format!("{host}:{port}");
    Ok(Target {
        key: format!("{}://{addr}", if tls { "https" } else { "http" }),
        tls,
        host,
        addr,
    })
}

impl Pool {
    fn tls(&self) -> &tokio_rustls::TlsConnector {
        self.tls.get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            let config = rustls::ClientConfig::builder()
                .with_root_certificates(roots)
                .with_no_client_auth();
            tokio_rustls::TlsConnector::from(Arc::new(config))
        })
    }

    fn take_idle(&self, key: &str) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.get_mut(key)?;
        while let Some(s) = list.pop() {
            if s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    fn put_idle(&self, key: String, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        let list = idle.entry(key).or_default();
        if list.len() < MAX_IDLE_PER_ORIGIN {
            list.push(sender);
        }
    }

    async fn connect(&self, t: &Target, timeout: Duration) -> Result<Sender, Error> {
        let connect = async {
            let tcp = TcpStream::connect(&t.addr).await.map_err(Error::Connect)?;
            let _ = tcp.set_nodelay(true);
            if t.tls {
                let name = rustls::pki_types::ServerName::try_from(t.host.clone())
                    .map_err(|_| Error::HttpRequestUriInvalid)?;
                let stream = self.tls().connect(name, tcp).await.map_err(Error::Tls)?;
                handshake(stream).await
            } else {
                handshake(tcp).await
            }
        };
        tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| Error::ConnectionTimeout)?
    }

    /// Send `request` (absolute URI) and read the whole answer.
    pub async fn send(
        &self,
        request: http::Request<Full<Bytes>>,
        options: Option<RequestOptions>,
    ) -> Result<http::Response<Bytes>, Error> {
        let t = target(request.uri())?;
        let connect_timeout = options
            .and_then(|o| o.connect_timeout)
            .unwrap_or(DEFAULT_TIMEOUT);
        let first_byte = options
            .and_then(|o| o.first_byte_timeout)
            .unwrap_or(DEFAULT_TIMEOUT);
        let between_bytes = options
            .and_then(|o| o.between_bytes_timeout)
            .unwrap_or(DEFAULT_TIMEOUT)
            .max(Duration::from_millis(1));
        // On the wire the request line carries the path only.
        let (mut parts, body) = request.into_parts();
        parts.uri = http::Uri::builder()
            .path_and_query(parts.uri.path_and_query().map_or("/", |p| p.as_str()))
            .build()
            .map_err(|_| Error::HttpRequestUriInvalid)?;
        let mut request = http::Request::from_parts(parts, body);

        let mut pooled = self.take_idle(&t.key);
        let (mut sender, response) = loop {
            let reused = pooled.is_some();
            let mut sender = match pooled.take() {
                Some(s) => s,
                None => self.connect(&t, connect_timeout).await?,
            };
            let sent = tokio::time::timeout(first_byte, sender.try_send_request(request)).await;
            match sent {
                Err(_) => return Err(Error::ConnectionReadTimeout),
                Ok(Ok(response)) => break (sender, response),
                Ok(Err(mut e)) => match e.take_message() {
                    // Not written: the pooled connection had closed. A fresh one, once.
                    Some(unsent) if reused => request = unsent,
                    _ => return Err(Error::from(e.into_error())),
                },
            }
        };
        let (parts, mut incoming) = response.into_parts();
        let mut body = Vec::new();
        loop {
            let frame = tokio::time::timeout(between_bytes, incoming.frame())
                .await
                .map_err(|_| Error::ConnectionReadTimeout)?;
            match frame {
                None => break,
                Some(Err(e)) => return Err(Error::from(e)),
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        if body.len() + data.len() > MAX_RESPONSE_BODY {
                            return Err(Error::HttpResponseBodySize(None));
                        }
                        body.extend_from_slice(&data);
                    }
                }
            }
        }
        // The answer is in: the connection can carry the next request.
        if let Ok(Ok(())) = tokio::time::timeout(Duration::from_secs(1), sender.ready()).await {
            self.put_idle(t.key, sender);
        }
        Ok(http::Response::from_parts(parts, Bytes::from(body)))
    }
}

async fn handshake<S>(stream: S) -> Result<Sender, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        // Ends when the server closes it or the last sender is dropped.
        let _ = conn.await;
    });
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::service::service_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A loopback server counting its connections; `close` answers `Connection: close`.
    async fn server(close: bool) -> (String, Arc<AtomicUsize>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = service_fn(
                        move |req: http::Request<hyper::body::Incoming>| async move {
                            let body = req.into_body().collect().await?.to_bytes();
                            let mut res = http::Response::new(Full::new(body));
                            if close {
                                res.headers_mut()
                                    .insert(http::header::CONNECTION, "close".parse().unwrap());
                            }
                            Ok::<_, hyper::Error>(res)
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), svc)
                        .await;
                });
            }
        });
        (origin, accepted)
    }

    fn post(origin: &str, i: usize) -> http::Request<Full<Bytes>> {
        let mut r = http::Request::new(Full::new(Bytes::from(format!("body {i}"))));
        *r.method_mut() = http::Method::POST;
        *r.uri_mut() = format!("{origin}/v23.0/1/messages").parse().unwrap();
        r
    }

    #[tokio::test]
    async fn sequential_requests_share_one_connection() {
        let (origin, accepted) = server(false).await;
        let pool = Pool::default();
        for i in 0..20 {
            let res = pool.send(post(&origin, i), None).await.unwrap();
            assert_eq!(res.body().as_ref(), format!("body {i}").as_bytes());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_server_that_closes_each_connection_still_gets_every_request() {
        let (origin, accepted) = server(true).await;
        let pool = Pool::default();
        for i in 0..5 {
            let res = pool.send(post(&origin, i), None).await.unwrap();
            assert_eq!(res.body().as_ref(), format!("body {i}").as_bytes());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 5);
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let origin = format!("http://{}", listener.local_addr().unwrap());
        drop(listener);
        let err = Pool::default()
            .send(post(&origin, 0), None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Connect(_)), "{err:?}");
    }
}
