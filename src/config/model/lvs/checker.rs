//! Health checkers attached to a real server: one typed variant per checker
//! kind, with the connection and timing options they share written once.
//!
//! Plain data only; defaults and inheritance live in `effective`.

use std::net::IpAddr;

use super::CheckTiming;
use crate::config::model::{RawSetting, Script, Text};
use crate::config::source::Spanned;

/// One checker block (`TCP_CHECK { … }`, `HTTP_GET { … }`, …).
#[derive(Debug, Clone, PartialEq)]
pub struct Checker {
    /// The kind and its own options; the location is the block keyword's.
    pub kind: Spanned<CheckerKind>,
    /// connect_ip, connect_port, bindto, bind_if, bind_port, fwmark.
    pub connection: Connection,
    pub timing: CheckTiming,
    pub log_all_failures: Option<Spanned<bool>>,
    pub other: Vec<RawSetting>,
}

impl Checker {
    pub fn new(kind: Spanned<CheckerKind>) -> Self {
        Self {
            kind,
            connection: Connection::default(),
            timing: CheckTiming::default(),
            log_all_failures: None,
            other: Vec::new(),
        }
    }
}

/// Where a checker connects to and from.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Connection {
    pub connect_ip: Option<Spanned<IpAddr>>,
    pub connect_port: Option<Spanned<u16>>,
    pub bindto: Option<Spanned<IpAddr>>,
    pub bind_if: Option<Text>,
    pub bind_port: Option<Spanned<u16>>,
    pub fwmark: Option<Spanned<u32>>,
}

/// The checker kinds keepalived 2.2.7 knows.
#[derive(Debug, Clone, PartialEq)]
pub enum CheckerKind {
    Tcp,
    Http(HttpCheck),
    /// `SSL_GET`: an HTTP check over TLS.
    Ssl(HttpCheck),
    Smtp(SmtpCheck),
    Dns(DnsCheck),
    Misc(MiscCheck),
    Bfd(BfdCheck),
    Udp(UdpCheck),
    Ping,
    File(FileCheck),
}

impl CheckerKind {
    /// The block keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
        }
    }
}

/// `HTTP_GET` / `SSL_GET` options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpCheck {
    pub http_protocol: Option<Spanned<HttpProtocol>>,
    pub virtualhost: Option<Text>,
    pub fast_recovery: Option<Spanned<bool>>,
    pub enable_sni: Option<Spanned<bool>>,
    pub urls: Vec<Url>,
}

/// `http_protocol 1.0|1.0C|1.1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpProtocol {
    V1_0,
    /// 1.0 plus a `Connection: close` header.
    V1_0Close,
    V1_1,
}

impl HttpProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpProtocol::V1_0 => "1.0",
            HttpProtocol::V1_0Close => "1.0C",
            HttpProtocol::V1_1 => "1.1",
        }
    }
}

/// One `url { … }` of an HTTP check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Url {
    pub at: Spanned<()>,
    pub path: Option<Text>,
    pub digest: Option<Text>,
    /// Empty means keepalived's default, 200-299.
    pub status_codes: Vec<Spanned<StatusRange>>,
    pub virtualhost: Option<Text>,
    pub regex: Option<Text>,
    pub regex_no_match: Option<Spanned<bool>>,
    pub regex_options: Vec<Text>,
    pub regex_stack: Option<Spanned<(u32, Option<u32>)>>,
    pub regex_min_offset: Option<Spanned<u32>>,
    pub regex_max_offset: Option<Spanned<u32>>,
}

/// An inclusive range of HTTP status codes (`200`, `200-299`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusRange {
    pub first: u16,
    pub last: u16,
}

impl StatusRange {
    pub fn contains(self, code: u16) -> bool {
        (self.first..=self.last).contains(&code)
    }
}

/// `SMTP_CHECK` options. `host { … }` blocks are the older way to check
/// several addresses from one checker.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SmtpCheck {
    pub helo_name: Option<Text>,
    pub hosts: Vec<Spanned<Connection>>,
}

/// `DNS_CHECK` options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DnsCheck {
    /// A, NS, CNAME, SOA, MX, TXT or AAAA (upper case); default SOA.
    pub query_type: Option<Text>,
    /// Default `.`.
    pub name: Option<Text>,
}

/// The DNS query types keepalived 2.2.7 accepts.
pub const DNS_TYPES: &[&str] = &["A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"];

/// `MISC_CHECK` options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MiscCheck {
    pub path: Option<Script>,
    /// Seconds.
    pub timeout: Option<Spanned<u32>>,
    pub dynamic: Option<Spanned<bool>>,
    pub user: Option<Text>,
    pub group: Option<Text>,
}

/// `BFD_CHECK { name NAME }`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BfdCheck {
    pub name: Option<Text>,
}

/// `UDP_CHECK` options. Hex strings are kept as written (the rest of the
/// line, words joined by single spaces: keepalived reads each space-separated
/// group on its own, so the spaces matter).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UdpCheck {
    pub payload: Option<Text>,
    /// `Some(None)`: a reply is required but not compared.
    pub require_reply: Option<Spanned<Option<String>>>,
    pub min_reply_length: Option<Spanned<u32>>,
    pub max_reply_length: Option<Spanned<u32>>,
}

/// `FILE_CHECK` options.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileCheck {
    pub track_file: Option<Text>,
    pub weight: Option<Spanned<i32>>,
    pub reverse: bool,
}
