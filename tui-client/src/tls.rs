//! TLS for the client: either the server's certificate is pinned on first use
//! (its fingerprint saved in `known_servers.json` in the data directory, and a
//! different one refused later), or it is verified against a CA the user names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use classchat_common::tls::fingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

use crate::address::ServerAddr;

/// How the server's certificate is trusted.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Pin the fingerprint on first use in this file; refuse a different one
    /// later, unless `replace` (the user accepted a new certificate).
    Pin { known: PathBuf, replace: bool },
    /// Verify against the CA certificates in this PEM file (names checked).
    Ca(PathBuf),
}

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read the CA certificates in {path}: {cause}")]
    Ca { path: String, cause: String },
    #[error("{0}")]
    Config(String),
    #[error("{0:?} cannot be checked against a certificate")]
    ServerName(String),
}

/// A TLS client set up for one server, and what its certificate turned out to be.
#[derive(Debug, Clone)]
pub struct TlsClient {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
    /// The fingerprint pinned before this connection, if any.
    pub pinned: Option<String>,
    /// The fingerprint the server presented (filled during the handshake).
    pub presented: Arc<Mutex<Option<String>>>,
    pub known: Option<PathBuf>,
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

pub fn client(addr: &ServerAddr, trust: &Trust) -> Result<TlsClient, TlsSetupError> {
    let name = ServerName::try_from(addr.host.clone())
        .map_err(|_| TlsSetupError::ServerName(addr.host.clone()))?;
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsSetupError::Config(e.to_string()))?;
    let presented = Arc::new(Mutex::new(None));
    match trust {
        Trust::Ca(path) => {
            let err = |cause: String| TlsSetupError::Ca {
                path: path.display().to_string(),
                cause,
            };
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(path).map_err(|e| err(e.to_string()))? {
                roots
                    .add(cert.map_err(|e| err(e.to_string()))?)
                    .map_err(|e| err(e.to_string()))?;
            }
            let config = builder.with_root_certificates(roots).with_no_client_auth();
            Ok(TlsClient {
                config: Arc::new(config),
                name,
                pinned: None,
                presented,
                known: None,
            })
        }
        Trust::Pin { known, replace } => {
            let pinned = if *replace {
                None
            } else {
                known_fingerprint(known, addr)
            };
            let verifier = Pinned {
                expected: pinned.clone(),
                presented: presented.clone(),
                provider: provider(),
            };
            let config = builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(verifier))
                .with_no_client_auth();
            Ok(TlsClient {
                config: Arc::new(config),
                name,
                pinned,
                presented,
                known: Some(known.clone()),
            })
        }
    }
}

impl TlsClient {
    /// After a successful handshake: remember the certificate if it was new.
    pub fn remember(&self, addr: &ServerAddr) {
        let (Some(known), Some(seen)) = (
            &self.known,
            self.presented.lock().ok().and_then(|s| s.clone()),
        ) else {
            return;
        };
        if self.pinned.as_deref() == Some(seen.as_str()) {
            return;
        }
        let mut all = read_known(known);
        all.insert(addr.to_string(), seen);
        if let Err(e) = write_known(known, &all) {
            tracing::warn!("cannot save the server's certificate fingerprint: {e}");
        }
    }

    /// After a failed handshake: the pinned and presented fingerprints, if the
    /// failure was a changed certificate.
    pub fn changed(&self) -> Option<(String, String)> {
        let presented = self.presented.lock().ok()?.clone()?;
        let pinned = self.pinned.clone()?;
        (pinned != presented).then_some((pinned, presented))
    }
}

fn read_known(path: &Path) -> BTreeMap<String, String> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

fn write_known(path: &Path, all: &BTreeMap<String, String>) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(all).map_err(std::io::Error::other)?;
    std::fs::write(path, bytes)
}

fn known_fingerprint(path: &Path, addr: &ServerAddr) -> Option<String> {
    read_known(path).remove(&addr.to_string())
}

/// Accepts exactly the pinned certificate (or, with none pinned yet, whatever
/// the server presents: trust on first use). Signatures are still checked, so
/// the server must hold the certificate's private key.
#[derive(Debug)]
struct Pinned {
    expected: Option<String>,
    presented: Arc<Mutex<Option<String>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let seen = fingerprint(end_entity.as_ref());
        if let Ok(mut presented) = self.presented.lock() {
            *presented = Some(seen.clone());
        }
        match &self.expected {
            Some(expected) if *expected != seen => Err(rustls::Error::General(
                "the server's certificate changed".into(),
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
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
