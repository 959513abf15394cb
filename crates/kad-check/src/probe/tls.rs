//! TLS client settings for SSL_GET (rustls: a kept, memory-safe TLS stack that runs over any
//! non-blocking socket). As keepalived: the server's certificate is not verified unless the
//! `SSL { ca … }` block names a CA; `certificate` and `key` give a client certificate; SNI is
//! sent only with `enable_sni`.

use std::net::IpAddr;
use std::sync::Arc;

use kad_core::config::model::SslContext;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{ring, verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use super::stream::TlsSession;

/// Accepts any server certificate (keepalived's default for SSL_GET): the check is about the
/// service answering, not about who it is. Signatures are still checked.
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: &ServerName<'_>,
        _: &[u8],
        _: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

fn read_pem(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("{path}: {e}"))
}

/// The SSL_GET client settings, built once per configuration: without and with SNI.
pub struct TlsContexts {
    plain: Arc<ClientConfig>,
    sni: Arc<ClientConfig>,
}

/// Builds the client settings from the `SSL` block (or none).
pub fn contexts(ssl: Option<&SslContext>) -> Result<TlsContexts, String> {
    let plain = client_config(ssl)?;
    let mut sni = plain.clone();
    sni.enable_sni = true;
    Ok(TlsContexts {
        plain: Arc::new(plain),
        sni: Arc::new(sni),
    })
}

fn client_config(ssl: Option<&SslContext>) -> Result<ClientConfig, String> {
    let provider = Arc::new(ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let builder = match ssl.and_then(|s| s.ca.as_deref()) {
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in rustls_pemfile::certs(&mut read_pem(ca)?.as_slice()) {
                let cert = cert.map_err(|e| format!("{ca}: {e}"))?;
                roots.add(cert).map_err(|e| format!("{ca}: {e}"))?;
            }
            builder.with_root_certificates(roots)
        }
        None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAny(provider))),
    };
    let cert_key = ssl.and_then(|s| Some((s.certificate.as_deref()?, s.key.as_deref()?)));
    let mut config = match cert_key {
        Some((cert, key)) => {
            let chain = rustls_pemfile::certs(&mut read_pem(cert)?.as_slice())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{cert}: {e}"))?;
            let password = ssl.and_then(|s| s.password.as_deref());
            let key = private_key(key, &read_pem(key)?, password)?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| e.to_string())?
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = false;
    Ok(config)
}

/// The private key in `pem` (file `path`): a plain one, or with `password` an `ENCRYPTED
/// PRIVATE KEY` (PKCS#8, PBES2) decrypted with it.
fn private_key(
    path: &str,
    pem: &[u8],
    password: Option<&str>,
) -> Result<PrivateKeyDer<'static>, String> {
    if let Some(k) =
        rustls_pemfile::private_key(&mut &pem[..]).map_err(|e| format!("{path}: {e}"))?
    {
        return Ok(k);
    }
    let text = std::str::from_utf8(pem).map_err(|_| format!("{path}: no private key"))?;
    let Some(begin) = text.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") else {
        return Err(format!("{path}: no private key"));
    };
    let Some(password) = password else {
        return Err(format!(
            "{path}: the key is encrypted and the SSL block has no 'password'"
        ));
    };
    const END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
    let end = text
        .get(begin..)
        .and_then(|t| t.find(END))
        .map_or(text.len(), |e| begin + e + END.len());
    let block = text.get(begin..end).unwrap_or_default();
    let (label, der) =
        pkcs8::der::pem::decode_vec(block.as_bytes()).map_err(|e| format!("{path}: {e}"))?;
    if label != "ENCRYPTED PRIVATE KEY" {
        return Err(format!("{path}: no private key"));
    }
    let info = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
        .map_err(|e| format!("{path}: {e}"))?;
    let plain = info
        .decrypt(password)
        .map_err(|e| format!("{path}: cannot decrypt the key with the SSL password ({e})"))?;
    Ok(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into()))
}

/// The session settings for one SSL_GET: the name is `virtualhost` when it is a DNS name,
/// else the server's address; SNI is sent only with `enable_sni`.
pub fn session(
    contexts: &TlsContexts,
    virtualhost: Option<&str>,
    addr: IpAddr,
    enable_sni: bool,
) -> TlsSession {
    let name = virtualhost
        .and_then(|h| ServerName::try_from(h.to_string()).ok())
        .unwrap_or(ServerName::IpAddress(addr.into()));
    let config = if enable_sni {
        &contexts.sni
    } else {
        &contexts.plain
    };
    (config.clone(), name)
}
