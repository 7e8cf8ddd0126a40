//! TLS for the server (rustls with the `ring` provider): a certificate and key
//! from PEM files, or a self-signed pair made in the data directory on first
//! start and reused afterwards, so clients that pinned it keep trusting it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsSource {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// Made once in `<data dir>/tls/`, then reused.
    SelfSigned,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate or key {path}: {cause}")]
    Read { path: String, cause: String },
    #[error("{0} holds no certificate")]
    NoCertificate(String),
    #[error("cannot make a self-signed certificate: {0}")]
    Generate(String),
    #[error("cannot write {path}: {cause}")]
    Write { path: String, cause: std::io::Error },
    #[error("the certificate and key do not make a TLS configuration: {0}")]
    Config(String),
}

/// What serving TLS needs, and the certificate's fingerprint for people.
#[derive(Clone)]
pub struct ServerTls {
    pub acceptor: TlsAcceptor,
    pub fingerprint: String,
    pub cert_path: PathBuf,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("fingerprint", &self.fingerprint)
            .finish()
    }
}

pub fn load(source: &TlsSource, data_dir: &Path) -> Result<ServerTls, TlsError> {
    let (cert_path, key_path) = match source {
        TlsSource::Files { cert, key } => (cert.clone(), key.clone()),
        TlsSource::SelfSigned => self_signed(&data_dir.join("tls"))?,
    };
    let read_err = |path: &Path| {
        let path = path.display().to_string();
        move |e: rustls_pki_types::pem::Error| TlsError::Read {
            path,
            cause: e.to_string(),
        }
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .map_err(read_err(&cert_path))?
        .collect::<Result<_, _>>()
        .map_err(read_err(&cert_path))?;
    let Some(first) = certs.first() else {
        return Err(TlsError::NoCertificate(cert_path.display().to_string()));
    };
    let fingerprint = classchat_common::tls::fingerprint(first.as_ref());
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(read_err(&key_path))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    Ok(ServerTls {
        acceptor: TlsAcceptor::from(Arc::new(config)),
        fingerprint,
        cert_path,
    })
}

/// The self-signed pair in `dir`, made if it is not there yet.
fn self_signed(dir: &Path) -> Result<(PathBuf, PathBuf), TlsError> {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    let names = vec!["localhost".to_owned(), "classchat".to_owned()];
    let made =
        rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::Generate(e.to_string()))?;
    let write_err = |path: &Path| {
        let path = path.display().to_string();
        move |cause| TlsError::Write { path, cause }
    };
    crate::owner_only::create_dir(dir).map_err(write_err(dir))?;
    write_private(&key, made.signing_key.serialize_pem().as_bytes()).map_err(write_err(&key))?;
    std::fs::write(&cert, made.cert.pem()).map_err(write_err(&cert))?;
    tracing::info!(path = %cert.display(), "made a self-signed TLS certificate");
    Ok((cert, key))
}

/// Writes a file only its owner can read (the private key).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = crate::owner_only::file_options();
    options.write(true).create(true).truncate(true);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_self_signed_certificate_is_made_once_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(&TlsSource::SelfSigned, dir.path()).unwrap();
        let again = load(&TlsSource::SelfSigned, dir.path()).unwrap();
        assert_eq!(first.fingerprint, again.fingerprint);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("tls/key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn missing_files_are_reported_by_name() {
        let source = TlsSource::Files {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let err = load(&source, Path::new("/tmp")).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/cert.pem"), "{err}");
    }
}
