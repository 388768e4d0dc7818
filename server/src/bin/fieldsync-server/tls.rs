//! The server's own HTTPS listener: rustls (with ring, the crypto the workspace already
//! builds), its certificate and key read from PEM files, and read again on SIGHUP so a
//! renewed certificate (Let's Encrypt, an internal CA) takes effect without dropping a
//! connection. A reload that fails keeps the certificate in use and says why in the log.

use std::path::PathBuf;
use std::sync::Arc;

use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The certificate chain and key files.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    /// The certificate chain, the server's own certificate first (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
}

/// Reads the files into a rustls configuration offering HTTP/2 and HTTP/1.1.
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, String> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&files.cert)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| {
            format!(
                "cannot read the certificate {}: {e} (it must be PEM)",
                files.cert.display()
            )
        })?;
    if certs.is_empty() {
        return Err(format!(
            "{} holds no certificate: give the PEM chain, the server's certificate first",
            files.cert.display()
        ));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|e| {
        format!(
            "cannot read the private key {}: {e} (it must be PEM: PKCS#8, PKCS#1 or SEC1)",
            files.key.display()
        )
    })?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("TLS: {e}"))?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(|e| {
                format!(
                    "the key {} does not go with the certificate {}: {e}",
                    files.key.display(),
                    files.cert.display()
                )
            })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// A TLS configuration the listener shares with its reloader.
pub struct Reloadable {
    files: TlsFiles,
    config: RustlsConfig,
}

impl Reloadable {
    /// Loads the files, or says why they cannot serve.
    pub fn load(files: TlsFiles) -> Result<Self, String> {
        let config = RustlsConfig::from_config(Arc::new(server_config(&files)?));
        Ok(Self { files, config })
    }

    /// The acceptor that wraps each connection in TLS with the configuration of the moment.
    pub fn acceptor(&self) -> RustlsAcceptor {
        RustlsAcceptor::new(self.config.clone())
    }

    /// Reads the files again on every SIGHUP, for as long as the server runs.
    pub fn reload_on_sighup(&self) {
        let (files, config) = (self.files.clone(), self.config.clone());
        tokio::spawn(async move {
            let mut hangups =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                    Ok(signal) => signal,
                    Err(e) => {
                        tracing::warn!("cannot watch SIGHUP, certificates reload on restart: {e}");
                        return;
                    }
                };
            while hangups.recv().await.is_some() {
                let files = files.clone();
                let loaded = tokio::task::spawn_blocking(move || server_config(&files)).await;
                match loaded {
                    Ok(Ok(fresh)) => {
                        config.reload_from_config(Arc::new(fresh));
                        tracing::info!("TLS certificate reloaded");
                    }
                    Ok(Err(e)) => {
                        tracing::warn!("TLS certificate not reloaded, the old one stays: {e}")
                    }
                    Err(e) => tracing::warn!("TLS certificate not reloaded: {e}"),
                }
            }
        });
    }
}
