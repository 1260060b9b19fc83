//! TLS client settings for SSL_GET, built from the top-level `SSL` block.
//!
//! keepalived does not verify the real server's certificate: a checker asks
//! "does the service answer", not "is it trusted". lvstop does the same by
//! default. When the `SSL` block names a `ca`, lvstop goes one step further
//! than keepalived and checks that the chain leads to that CA (the name in
//! the certificate is not checked: real servers are probed by address).
//! `certificate` + `key` are presented as a client certificate; encrypted
//! keys (`password`) are not supported and say so.
//!
//! Reads files only in [`TlsClient::from_config`], which runs at config
//! load, never per probe.

use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::config::model::lvs::SslConfig;

/// Why the `SSL` block could not be turned into a TLS client.
#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("cannot read SSL {what} '{path}': {source}")]
    Read {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("SSL {what} '{path}' holds no usable PEM {expected}")]
    Empty {
        what: &'static str,
        path: String,
        expected: &'static str,
    },
    #[error("SSL 'password' is set: encrypted private keys are not supported; decrypt '{0}'")]
    EncryptedKey(String),
    #[error("SSL 'certificate' and 'key' must be given together")]
    HalfClientIdentity,
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("SSL ca: {0}")]
    Verifier(#[from] rustls::client::VerifierBuilderError),
}

/// Ready-made TLS client configurations, cheap to clone (shared).
#[derive(Clone)]
pub struct TlsClient {
    with_sni: Arc<ClientConfig>,
    without_sni: Arc<ClientConfig>,
}

impl fmt::Debug for TlsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TlsClient")
    }
}

impl TlsClient {
    /// keepalived's behaviour without an `SSL` block: no verification, no
    /// client certificate. Reads no files.
    pub fn unverified() -> Result<Self, TlsSetupError> {
        Self::from_config(None)
    }

    /// Builds the client from the `SSL` block (or its absence).
    pub fn from_config(ssl: Option<&SslConfig>) -> Result<Self, TlsSetupError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let ca = ssl.and_then(|s| s.ca.as_ref()).map(|t| t.value.as_str());
        let verifier: Arc<dyn ServerCertVerifier> = match ca {
            Some(path) => Arc::new(ChainOnly(
                WebPkiServerVerifier::builder_with_provider(
                    Arc::new(read_roots(path)?),
                    provider.clone(),
                )
                .build()?,
            )),
            None => Arc::new(AcceptAny(provider.clone())),
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let certificate = ssl.and_then(|s| s.certificate.as_ref());
        let key = ssl.and_then(|s| s.key.as_ref());
        let mut config = match (certificate, key) {
            (Some(certificate), Some(key)) => {
                if ssl.is_some_and(|s| s.password.is_some()) {
                    return Err(TlsSetupError::EncryptedKey(key.value.clone()));
                }
                builder.with_client_auth_cert(
                    read_certificates(&certificate.value)?,
                    read_key(&key.value)?,
                )?
            }
            (None, None) => builder.with_no_client_auth(),
            _ => return Err(TlsSetupError::HalfClientIdentity),
        };
        let mut without = config.clone();
        without.enable_sni = false;
        config.enable_sni = true;
        Ok(Self {
            with_sni: Arc::new(config),
            without_sni: Arc::new(without),
        })
    }

    /// The configuration for a checker with or without `enable_sni`.
    pub(super) fn config(&self, sni: bool) -> Arc<ClientConfig> {
        if sni {
            self.with_sni.clone()
        } else {
            self.without_sni.clone()
        }
    }
}

fn open(what: &'static str, path: &str) -> Result<BufReader<File>, TlsSetupError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|source| TlsSetupError::Read {
            what,
            path: path.to_owned(),
            source,
        })
}

fn read_certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certificates = rustls_pemfile::certs(&mut open("certificate", path)?)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsSetupError::Read {
            what: "certificate",
            path: path.to_owned(),
            source,
        })?;
    if certificates.is_empty() {
        return Err(TlsSetupError::Empty {
            what: "certificate",
            path: path.to_owned(),
            expected: "certificate",
        });
    }
    Ok(certificates)
}

fn read_roots(path: &str) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(path)? {
        roots.add(certificate)?;
    }
    Ok(roots)
}

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    rustls_pemfile::private_key(&mut open("key", path)?)
        .map_err(|source| TlsSetupError::Read {
            what: "key",
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsSetupError::Empty {
            what: "key",
            path: path.to_owned(),
            expected: "private key",
        })
}

/// Accepts any certificate (keepalived's default), but still checks that
/// the handshake signatures are genuine so the session itself is sound.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Verifies the chain against the configured CA but not the name: the
/// probe connects to an address, and the certificate names a service.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
