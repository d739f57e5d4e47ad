//! TLS for the PostgreSQL backend, with libpq's `sslmode` and `sslrootcert` in the URL.
//!
//! | `sslmode` | what is checked |
//! |---|---|
//! | `disable` | no TLS |
//! | `prefer` (the default, as libpq's) | TLS when the server offers it, else plain; the certificate is not checked |
//! | `require` | TLS or no connection; the certificate is not checked, unless `sslrootcert` is given, then as `verify-ca` (libpq does the same) |
//! | `verify-ca` | TLS; the server's chain must lead to a root of `sslrootcert` |
//! | `verify-full` | as `verify-ca`, and the certificate must name the host of the URL |
//!
//! `sslrootcert` is a PEM file of trusted roots, or `system` for the Mozilla roots built
//! in (`webpki-roots`); without it, `verify-*` use the built-in roots. Only the URL form
//! (`postgres://…?sslmode=verify-full&sslrootcert=/etc/ssl/pg-ca.pem`) takes these two.
//! rustls with *ring* does the TLS (1.2 and 1.3).

use crate::{Result, StorageError};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::Arc;
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// No TLS.
    Disable,
    /// TLS when the server offers it; the certificate unchecked.
    Prefer,
    /// TLS or nothing; the certificate unchecked.
    Require,
    /// TLS; the chain checked against the trusted roots.
    VerifyCa,
    /// TLS; the chain and the host name checked.
    VerifyFull,
}

/// How to connect: the URL the `postgres` crate reads (our two parameters taken out), and
/// the TLS connector, none for `disable`.
pub struct Tls {
    /// The URL for the `postgres` crate.
    pub url: String,
    /// The mode asked for.
    pub mode: SslMode,
    /// The TLS connector; none for `disable`.
    pub connector: Option<MakeRustlsConnect>,
}

fn bad(why: impl Into<String>) -> StorageError {
    StorageError(format!("postgres: {}", why.into()))
}

/// Read `sslmode` and `sslrootcert` out of `url` and make the connector they ask for.
pub fn from_url(url: &str) -> Result<Tls> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        // The key=value form: its own `sslmode` (disable, prefer, require) applies, the
        // certificate unchecked.
        return Ok(Tls {
            url: url.to_string(),
            mode: SslMode::Prefer,
            connector: Some(config(Arc::new(Unchecked::new()))),
        });
    }
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let (mut mode, mut root) = (SslMode::Prefer, None::<String>);
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "sslmode" => {
                mode = match v {
                    "disable" => SslMode::Disable,
                    "prefer" | "allow" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(bad(format!(
                            "sslmode {other:?} is not one of disable, prefer, require, verify-ca, verify-full"
                        )));
                    }
                }
            }
            "sslrootcert" => root = Some(percent_decode(v)),
            _ => kept.push(pair),
        }
    }
    if mode == SslMode::Require && root.is_some() {
        mode = SslMode::VerifyCa;
    }
    // The `postgres` crate knows disable, prefer and require; the checks beyond are ours.
    kept.push(match mode {
        SslMode::Disable => "sslmode=disable",
        SslMode::Prefer => "sslmode=prefer",
        _ => "sslmode=require",
    });
    let url = format!("{base}?{}", kept.join("&"));
    let connector = match mode {
        SslMode::Disable => None,
        SslMode::Prefer | SslMode::Require => Some(config(Arc::new(Unchecked::new()))),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let roots = Arc::new(roots(root.as_deref())?);
            let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider())
                .build()
                .map_err(|e| bad(format!("the trusted roots: {e}")))?;
            Some(config(Arc::new(Checked {
                webpki,
                names: mode == SslMode::VerifyFull,
            })))
        }
    };
    Ok(Tls {
        url,
        mode,
        connector,
    })
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn config(verifier: Arc<dyn ServerCertVerifier>) -> MakeRustlsConnect {
    let config = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("ring supports TLS 1.2 and 1.3")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    MakeRustlsConnect::new(config)
}

/// The roots in the PEM file at `path`, or the built-in ones (`system`, or none given).
fn roots(path: Option<&str>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match path {
        None | Some("system") => {
            store.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        }
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
            let (added, _) = store.add_parsable_certificates(certs);
            if added == 0 {
                return Err(bad(format!("sslrootcert {path} holds no certificate")));
            }
        }
    }
    Ok(store)
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `verify-ca` and `verify-full`: the chain checked against the roots; the name too
/// for `verify-full`.
#[derive(Debug)]
struct Checked {
    webpki: Arc<WebPkiServerVerifier>,
    names: bool,
}

impl ServerCertVerifier for Checked {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .webpki
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) if !self.names => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `prefer` and `require`: encrypted, the certificate taken as it comes (libpq's
/// meaning). The handshake's signatures are still checked.
#[derive(Debug)]
struct Unchecked {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl Unchecked {
    fn new() -> Self {
        Unchecked {
            provider: provider(),
        }
    }
}

impl ServerCertVerifier for Unchecked {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn our_parameters_are_taken_out_and_verify_modes_need_tls() {
        let t = from_url("postgres://u:p@h:5432/db?sslmode=verify-full&sslrootcert=system&options=-csearch_path%3Ds").unwrap();
        assert_eq!(t.mode, SslMode::VerifyFull);
        assert_eq!(
            t.url,
            "postgres://u:p@h:5432/db?options=-csearch_path%3Ds&sslmode=require"
        );
        assert!(t.connector.is_some());
        let t = from_url("postgres://u:p@h/db").unwrap();
        assert_eq!(
            (t.mode, t.url.as_str()),
            (SslMode::Prefer, "postgres://u:p@h/db?sslmode=prefer")
        );
        let t = from_url("postgres://u:p@h/db?sslmode=disable").unwrap();
        assert!(t.connector.is_none());
        let t = from_url("postgres://u:p@h/db?sslmode=require&sslrootcert=system").unwrap();
        assert_eq!(
            t.mode,
            SslMode::VerifyCa,
            "libpq: require with a root file verifies the CA"
        );
        let e = from_url("postgres://u:p@h/db?sslmode=verify-all")
            .err()
            .unwrap();
        assert!(e.0.contains("verify-all"), "{e}");
        let e = from_url("postgres://u:p@h/db?sslmode=verify-full&sslrootcert=/nonexistent.pem")
            .err()
            .unwrap();
        assert!(e.0.contains("/nonexistent.pem"), "{e}");
        assert_eq!(percent_decode("%2Fetc%2Fca.pem"), "/etc/ca.pem");
    }
}
