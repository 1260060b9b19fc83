//! TCP_CHECK, HTTP_GET and SSL_GET against real servers on loopback: TCP
//! listeners, a hyper HTTP server and a rustls TLS server with rcgen
//! certificates. Each test asserts the verdict and the reason an operator
//! would read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::health_probe_common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use health_probe_common::{conf, reason, verdict};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use lvstop::health::outcome::Verdict;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::TcpListener;

/// The body of `/ok`; its MD5 (`md5sum`) is [`OK_DIGEST`].
const OK_BODY: &str = "lvstop health page\nstatus: serving\n";
const OK_DIGEST: &str = "ddaf045e8dcd329ff1c71e93aad42009";

async fn handle(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_owned()
    };
    let (status, body) = match request.uri().path() {
        "/ok" => (200, OK_BODY.to_owned()),
        "/down" => (503, "maintenance\n".to_owned()),
        "/slow" => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            (200, OK_BODY.to_owned())
        }
        "/echo" => (
            200,
            format!(
                "{}|{}|{:?}|{}",
                header("host"),
                header("user-agent"),
                request.version(),
                header("connection")
            ),
        ),
        _ => (404, "not found\n".to_owned()),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
    Ok(response)
}

fn serve_http<S>(stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), hyper::service::service_fn(handle))
            .await;
    });
}

/// A hyper HTTP server on 127.0.0.1; it lives as long as the test runtime.
async fn http_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            serve_http(stream);
        }
    });
    address
}

/// A port on which nothing listens (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

fn http_get(url: &str) -> String {
    format!("  HTTP_GET {{\n   connect_timeout 1\n{url}\n  }}")
}

// ---- TCP_CHECK ----

#[tokio::test]
async fn tcp_check_passes_when_a_listener_accepts() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = conf(
        &format!("127.0.0.1 {port}"),
        "  TCP_CHECK {\n   connect_timeout 2\n  }",
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn tcp_check_says_connection_refused_on_a_closed_port() {
    let port = closed_port().await;
    let config = conf(&format!("127.0.0.1 {port}"), "  TCP_CHECK {\n  }");
    assert_eq!(reason(&verdict(&config).await), "connection refused");
}

#[tokio::test]
async fn tcp_check_uses_connect_port_bindto_and_bind_port() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let source_port = closed_port().await;
    // The real server's own port is closed: only connect_port can pass.
    let closed = closed_port().await;
    let config = conf(
        &format!("127.0.0.1 {closed}"),
        &format!(
            "  TCP_CHECK {{\n   connect_ip 127.0.0.1\n   connect_port {port}\n   bindto 127.0.0.2\n   bind_port {source_port}\n  }}"
        ),
    );
    let accepted = tokio::spawn(async move { listener.accept().await.unwrap().1 });
    assert_eq!(verdict(&config).await, Verdict::Up);
    let peer = accepted.await.unwrap();
    assert_eq!(peer, SocketAddr::from(([127, 0, 0, 2], source_port)));
}

// ---- HTTP_GET ----

#[tokio::test]
async fn http_get_passes_on_200_with_matching_digest_and_regex() {
    let server = http_server().await;
    let url = format!(
        "   url {{\n    path /ok\n    digest {OK_DIGEST}\n    regex \"status: serv[a-z]+\"\n   }}"
    );
    let config = conf(&server.to_string().replace(':', " "), &http_get(&url));
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn http_get_reports_the_status_of_a_503() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get("   url {\n    path /down\n   }"),
    );
    assert_eq!(reason(&verdict(&config).await), "HTTP 503");
}

#[tokio::test]
async fn http_get_accepts_a_503_when_status_code_lists_it() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get("   url {\n    path /down\n    status_code 200-299 503\n   }"),
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn http_get_reports_both_digests_on_mismatch() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get("   url {\n    path /ok\n    digest 9B3A0C85A887A256D6939DA88AABD8CD\n   }"),
    );
    assert_eq!(
        reason(&verdict(&config).await),
        format!("digest mismatch: expected 9b3a0c85a887a256d6939da88aabd8cd, got {OK_DIGEST}")
    );
}

#[tokio::test]
async fn http_get_fails_when_the_body_does_not_match_the_regex() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get("   url {\n    path /ok\n    regex \"status: draining\"\n   }"),
    );
    assert_eq!(reason(&verdict(&config).await), "body does not match regex");
}

#[tokio::test]
async fn http_get_regex_no_match_fails_on_a_match() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get("   url {\n    path /ok\n    regex serving\n    regex_no_match\n   }"),
    );
    assert_eq!(
        reason(&verdict(&config).await),
        "body matches regex (regex_no_match)"
    );
}

#[tokio::test]
async fn http_get_times_out_on_a_slow_server() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get("   url {\n    path /slow\n   }"),
    );
    assert_eq!(reason(&verdict(&config).await), "timeout after 1 s");
}

#[tokio::test]
async fn http_get_says_connection_refused_when_nothing_listens() {
    let port = closed_port().await;
    let config = conf(
        &format!("127.0.0.1 {port}"),
        &http_get("   url {\n    path /ok\n   }"),
    );
    assert_eq!(reason(&verdict(&config).await), "connection refused");
}

#[tokio::test]
async fn http_get_sends_keepalived_like_requests() {
    let server = http_server().await;
    // The real server's virtualhost is the default for the checker.
    let config = format!(
        "virtual_server 127.0.0.1 80 {{\n protocol TCP\n real_server 127.0.0.1 {} {{\n  virtualhost www.example.test\n{}\n }}\n}}\n",
        server.port(),
        http_get("   url {\n    path /echo\n    regex \"^www\\.example\\.test\\|KeepAliveClient\\|HTTP/1\\.0\\|-$\"\n   }")
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn http_protocol_1_1_sends_connection_close_and_host_defaults_to_the_address() {
    let server = http_server().await;
    let expected = format!(
        "^127\\.0\\.0\\.1:{}\\|KeepAliveClient\\|HTTP/1\\.1\\|close$",
        server.port()
    );
    let config = conf(
        &server.to_string().replace(':', " "),
        &format!(
            "  HTTP_GET {{\n   http_protocol 1.1\n   url {{\n    path /echo\n    regex \"{expected}\"\n   }}\n  }}"
        ),
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}

#[tokio::test]
async fn http_get_needs_every_url_and_names_the_failing_one() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get("   url {\n    path /ok\n   }\n   url {\n    path /down\n   }"),
    );
    assert_eq!(reason(&verdict(&config).await), "GET /down: HTTP 503");
}

/// The digest lvstop expects is the one keepalived's own `genhash` prints
/// for the same page (when keepalived is installed).
#[tokio::test]
async fn digest_agrees_with_keepalived_genhash() {
    let Ok(genhash) = which("genhash") else {
        eprintln!("skipped: genhash (keepalived) is not installed");
        return;
    };
    let server = http_server().await;
    let output = tokio::process::Command::new(genhash)
        .args([
            "-s",
            "127.0.0.1",
            "-p",
            &server.port().to_string(),
            "-u",
            "/ok",
        ])
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    let digest = printed
        .split_whitespace()
        .find(|w| w.len() == 32 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .expect("genhash printed a digest");
    assert_eq!(digest, OK_DIGEST);
    let config = conf(
        &server.to_string().replace(':', " "),
        &http_get(&format!(
            "   url {{\n    path /ok\n    digest {digest}\n   }}"
        )),
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
}

fn which(program: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .ok_or(())
}

// ---- SSL_GET ----

struct Pki {
    ca_pem: String,
    leaf: CertificateDer<'static>,
    leaf_key: PrivateKeyDer<'static>,
}

/// A CA and a server certificate for `www.example.test` signed by it.
fn pki() -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["www.example.test".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    Pki {
        ca_pem: ca.pem(),
        leaf: leaf.der().clone(),
        leaf_key: PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
    }
}

/// A TLS server serving the same pages; records the SNI of each handshake.
async fn tls_server(pki: &Pki) -> (SocketAddr, Arc<Mutex<Vec<Option<String>>>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![pki.leaf.clone()], pki.leaf_key.clone_key())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let names = Arc::new(Mutex::new(Vec::new()));
    let seen = names.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = seen.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    let sni = tls.get_ref().1.server_name().map(str::to_owned);
                    seen.lock().unwrap().push(sni);
                    serve_http(tls);
                }
            });
        }
    });
    (address, names)
}

fn ssl_get(extra: &str, url: &str) -> String {
    format!("  SSL_GET {{\n   connect_timeout 2\n{extra}\n{url}\n  }}")
}

#[tokio::test]
async fn ssl_get_passes_without_verifying_the_certificate_and_sends_sni() {
    let pki = pki();
    let (server, names) = tls_server(&pki).await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &ssl_get(
            "   enable_sni\n   virtualhost www.example.test",
            &format!("   url {{\n    path /ok\n    digest {OK_DIGEST}\n   }}"),
        ),
    );
    assert_eq!(verdict(&config).await, Verdict::Up);
    assert_eq!(
        names.lock().unwrap().as_slice(),
        [Some("www.example.test".to_owned())]
    );
}

#[tokio::test]
async fn ssl_get_sends_no_sni_unless_enabled() {
    let pki = pki();
    let (server, names) = tls_server(&pki).await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &ssl_get(
            "   virtualhost www.example.test",
            "   url {\n    path /down\n   }",
        ),
    );
    assert_eq!(reason(&verdict(&config).await), "HTTP 503");
    assert_eq!(names.lock().unwrap().as_slice(), [None]);
}

#[tokio::test]
async fn ssl_get_checks_the_chain_when_the_ssl_block_names_a_ca() {
    let pki = pki();
    let (server, _) = tls_server(&pki).await;
    let dir = tempfile::tempdir().unwrap();
    let right = dir.path().join("right.pem");
    let wrong = dir.path().join("wrong.pem");
    std::fs::write(&right, &pki.ca_pem).unwrap();
    std::fs::write(&wrong, self::pki().ca_pem).unwrap();
    let checker = ssl_get("", "   url {\n    path /ok\n   }");
    let rs = server.to_string().replace(':', " ");
    let with_ca =
        |ca: &std::path::Path| format!("SSL {{\n ca {}\n}}\n{}", ca.display(), conf(&rs, &checker));
    assert_eq!(verdict(&with_ca(&right)).await, Verdict::Up);
    let failed = reason(&verdict(&with_ca(&wrong)).await);
    assert!(
        failed.starts_with("TLS: invalid peer certificate"),
        "reason was '{failed}'"
    );
}

#[tokio::test]
async fn ssl_get_against_plain_http_is_a_tls_failure() {
    let server = http_server().await;
    let config = conf(
        &server.to_string().replace(':', " "),
        &ssl_get("", "   url {\n    path /ok\n   }"),
    );
    let failed = reason(&verdict(&config).await);
    assert!(failed.starts_with("TLS: "), "reason was '{failed}'");
}
