//! HTTP_GET and SSL_GET: for every `url`, one GET over a fresh connection;
//! the real server passes only when every URL passes (keepalived.conf(5),
//! "HTTP and SSL healthcheckers").
//!
//! Per URL, in this order: the status is within `status_code` (default
//! 200-299); the MD5 of the body equals `digest` (lower-case hex, as
//! keepalived's `genhash` prints it: the digest of the bytes after the
//! header block); the body matches `regex` (or does not, with
//! `regex_no_match`). Requests look like keepalived's: `GET <path>
//! HTTP/1.0` (or 1.1 with `http_protocol`), `Host:` from the virtualhost
//! chain url → checker → real server → virtual server, else the address,
//! and `User-Agent: KeepAliveClient` so access logs and filters written for
//! keepalived keep working. The whole URL exchange is bounded by
//! `connect_timeout`.

use std::net::{IpAddr, SocketAddr};

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::header::{CONNECTION, HOST, USER_AGENT};
use hyper::{Method, Request, Version};
use hyper_util::rt::TokioIo;
use md5::{Digest, Md5};
use regex::bytes::{Regex, RegexBuilder};
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::task::JoinHandle;

use super::tls::TlsClient;
use super::{connect, down, within_timeout, ProbeSpec};
use crate::config::model::lvs::{HttpCheck, HttpProtocol, StatusRange, Url};
use crate::health::outcome::{Reason, Verdict};

/// Bodies larger than this fail the check rather than filling memory.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// keepalived.conf(5): "Default is 200-299".
const DEFAULT_STATUS: StatusRange = StatusRange {
    first: 200,
    last: 299,
};

pub(super) async fn probe(spec: &ProbeSpec, http: &HttpCheck, tls: bool) -> Verdict {
    if http.urls.is_empty() {
        return down(Reason::Protocol {
            detail: "no url to check (keepalived ignores such a checker)".into(),
        });
    }
    let tls_client = match (tls, &spec.tls) {
        (false, _) => None,
        (true, Some(client)) => Some(client.clone()),
        (true, None) => match TlsClient::unverified() {
            Ok(client) => Some(client),
            Err(e) => {
                return down(Reason::Tls {
                    detail: e.to_string(),
                })
            }
        },
    };
    let several = http.urls.len() > 1;
    for url in &http.urls {
        let verdict = within_timeout(
            spec.connect_timeout,
            check_url(spec, http, url, tls_client.as_ref()),
        )
        .await;
        if let Verdict::Down { reason } = verdict {
            let reason = if several {
                Reason::Url {
                    path: url_path(url).to_owned(),
                    reason: Box::new(reason),
                }
            } else {
                reason
            };
            return down(reason);
        }
    }
    Verdict::Up
}

fn url_path(url: &Url) -> &str {
    url.path.as_ref().map_or("/", |p| p.value.as_str())
}

/// The virtualhost for this URL: the url's, the checker's, then the one the
/// real or virtual server gives.
fn virtualhost<'a>(spec: &'a ProbeSpec, http: &'a HttpCheck, url: &'a Url) -> Option<&'a str> {
    url.virtualhost
        .as_ref()
        .or(http.virtualhost.as_ref())
        .map(|t| t.value.as_str())
        .or(spec.virtualhost.as_deref())
}

/// `Host:` when no virtualhost is set: the address, with the port unless
/// it is the scheme's default.
fn host_for_address(destination: SocketAddr, tls: bool) -> String {
    let default_port = if tls { 443 } else { 80 };
    let ip = match destination.ip() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => format!("[{v6}]"),
    };
    if destination.port() == default_port {
        ip
    } else {
        format!("{ip}:{}", destination.port())
    }
}

async fn check_url(
    spec: &ProbeSpec,
    http: &HttpCheck,
    url: &Url,
    tls: Option<&TlsClient>,
) -> Verdict {
    match fetch_and_check(spec, http, url, tls).await {
        Ok(()) => Verdict::Up,
        Err(reason) => down(reason),
    }
}

async fn fetch_and_check(
    spec: &ProbeSpec,
    http: &HttpCheck,
    url: &Url,
    tls: Option<&TlsClient>,
) -> Result<(), Reason> {
    let vhost = virtualhost(spec, http, url);
    let host = vhost.map_or_else(
        || host_for_address(spec.destination, tls.is_some()),
        str::to_owned,
    );
    let protocol = http.http_protocol.map_or(HttpProtocol::V1_0, |p| p.value);
    let mut request = Request::builder()
        .method(Method::GET)
        .uri(url_path(url))
        .version(match protocol {
            HttpProtocol::V1_1 => Version::HTTP_11,
            HttpProtocol::V1_0 | HttpProtocol::V1_0Close => Version::HTTP_10,
        })
        .header(USER_AGENT, "KeepAliveClient")
        .header(HOST, host);
    // keepalived.conf(5): 1.0C is 1.0 plus "Connection: close", which 1.1
    // sends by default.
    if protocol != HttpProtocol::V1_0 {
        request = request.header(CONNECTION, "close");
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| Reason::Protocol {
            detail: format!("cannot build request for '{}': {e}", url_path(url)),
        })?;

    let stream = connect::tcp(spec, spec.destination).await?;
    let (status, body) = match tls {
        None => exchange(stream, request).await?,
        Some(client) => {
            let sni = http.enable_sni.is_some_and(|s| s.value);
            let name = server_name(vhost, spec.destination.ip(), sni);
            let connector = tokio_rustls::TlsConnector::from(client.config(sni));
            let stream = connector
                .connect(name, stream)
                .await
                .map_err(|e| Reason::Tls {
                    detail: tls_words(&e),
                })?;
            exchange(stream, request).await?
        }
    };
    judge(url, status, &body)
}

/// The TLS server name: the virtualhost when SNI is enabled and it is a DNS
/// name, else the address (rustls never sends an address as SNI).
fn server_name(vhost: Option<&str>, ip: IpAddr, sni: bool) -> ServerName<'static> {
    if sni {
        if let Some(name) = vhost.and_then(|v| ServerName::try_from(v.to_owned()).ok()) {
            return name;
        }
    }
    ServerName::IpAddress(ip.into())
}

fn tls_words(error: &std::io::Error) -> String {
    match error.get_ref() {
        Some(inner) => inner.to_string(),
        None => connect::os_words(error),
    }
}

/// Sends the request and reads the whole response.
async fn exchange<S>(stream: S, request: Request<Empty<Bytes>>) -> Result<(u16, Bytes), Reason>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(hyper_reason)?;
    // The connection task holds the socket; it ends with this probe even
    // when the probe is dropped at its timeout.
    let _driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    let response = sender.send_request(request).await.map_err(hyper_reason)?;
    let status = response.status().as_u16();
    let body = Limited::new(response.into_body(), MAX_BODY)
        .collect()
        .await
        .map_err(|e| match e.downcast::<hyper::Error>() {
            Ok(e) => hyper_reason(*e),
            Err(e) => Reason::Protocol {
                detail: format!("body: {e}"),
            },
        })?
        .to_bytes();
    Ok((status, body))
}

struct AbortOnDrop(JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn hyper_reason(error: hyper::Error) -> Reason {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            return connect::reason_for(io);
        }
        source = current.source();
    }
    Reason::Protocol {
        detail: format!("HTTP: {error}"),
    }
}

/// Applies the URL's status, digest and regex rules to a response.
fn judge(url: &Url, status: u16, body: &[u8]) -> Result<(), Reason> {
    let accepted = if url.status_codes.is_empty() {
        DEFAULT_STATUS.contains(status)
    } else {
        url.status_codes.iter().any(|r| r.value.contains(status))
    };
    if !accepted {
        return Err(Reason::HttpStatus { code: status });
    }
    if let Some(expected) = &url.digest {
        let actual = hex_md5(body);
        if !actual.eq_ignore_ascii_case(&expected.value) {
            return Err(Reason::DigestMismatch {
                expected: expected.value.to_ascii_lowercase(),
                actual,
            });
        }
    }
    if let Some(pattern) = &url.regex {
        let regex = build_regex(&pattern.value, url)?;
        let found = regex_found(&regex, body, url);
        let no_match = url.regex_no_match.is_some_and(|b| b.value);
        if found == no_match {
            return Err(if no_match {
                Reason::RegexUnwantedMatch
            } else {
                Reason::RegexMismatch
            });
        }
    }
    Ok(())
}

/// The body's MD5 in lower-case hex, like `genhash` prints it.
pub(crate) fn hex_md5(body: &[u8]) -> String {
    Md5::digest(body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// keepalived uses PCRE2; the options it documents that have a meaning in
/// Rust's regex engine are honoured, the rest are ignored.
fn build_regex(pattern: &str, url: &Url) -> Result<Regex, Reason> {
    let mut builder = RegexBuilder::new(pattern);
    builder.unicode(false);
    for option in &url.regex_options {
        match option.value.as_str() {
            "caseless" => builder.case_insensitive(true),
            "multiline" => builder.multi_line(true),
            "dotall" => builder.dot_matches_new_line(true),
            "extended" => builder.ignore_whitespace(true),
            "ungreedy" => builder.swap_greed(true),
            "utf" => builder.unicode(true),
            _ => &mut builder,
        };
    }
    builder.build().map_err(|e| Reason::Protocol {
        detail: format!("regex '{pattern}' does not compile: {e}"),
    })
}

/// Whether a match starts within `regex_min_offset..=regex_max_offset`.
fn regex_found(regex: &Regex, body: &[u8], url: &Url) -> bool {
    let min = url
        .regex_min_offset
        .map_or(0, |o| o.value as usize)
        .min(body.len());
    let max = url
        .regex_max_offset
        .map_or(usize::MAX, |o| o.value as usize);
    regex
        .find_at(body, min)
        .is_some_and(|found| found.start() <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_lower_case_hex_md5_of_the_body() {
        // RFC 1321 test suite: MD5("abc").
        assert_eq!(hex_md5(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn host_header_omits_the_default_port() {
        let v4: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let v6: SocketAddr = "[2001:db8::1]:8080".parse().unwrap();
        assert_eq!(host_for_address(v4, false), "192.0.2.1");
        assert_eq!(host_for_address(v4, true), "192.0.2.1:80");
        assert_eq!(host_for_address(v6, false), "[2001:db8::1]:8080");
    }
}
