//! The result of one probe: a verdict, how long it took, and a reason that
//! tells an operator what to fix ("connection refused", "HTTP 503").

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// What one probe of one checker found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeReport {
    pub verdict: Verdict,
    /// From the start of the attempt to the verdict.
    pub latency: Duration,
}

/// Whether the real server passed this probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Up,
    /// Up, and the checker asks for this weight (MISC_CHECK with
    /// `misc_dynamic`: exit status 2–255 means weight = status − 2).
    UpWithWeight {
        weight: u32,
    },
    Down {
        reason: Reason,
    },
}

/// Why a probe failed, specific enough to act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Reason {
    ConnectionRefused,
    /// No answer within the checker's timeout.
    Timeout {
        after: Duration,
    },
    /// The network said the host or net is unreachable.
    Unreachable {
        detail: String,
    },
    /// HTTP answered with a status outside the accepted ranges.
    HttpStatus {
        code: u16,
    },
    /// The body's MD5 differs from `digest`.
    DigestMismatch {
        expected: String,
        actual: String,
    },
    /// The body does not match `regex`.
    RegexMismatch,
    /// The body matches `regex` and the url says `regex_no_match`.
    RegexUnwantedMatch,
    /// One `url` of an HTTP check with several failed; says which.
    Url {
        path: String,
        reason: Box<Reason>,
    },
    /// TLS handshake or protocol failure.
    Tls {
        detail: String,
    },
    /// The peer spoke, but not the protocol expected (bad SMTP greeting,
    /// DNS reply without an answer…).
    Protocol {
        detail: String,
    },
    /// A script exited with a failing status.
    Exit {
        code: i32,
        stderr_first_line: String,
    },
    /// A script was killed by a signal (including our own timeout kill).
    Signal {
        signal: i32,
    },
    /// FILE_CHECK: the tracked file's value means failure.
    TrackFile {
        name: String,
        value: i64,
    },
    /// Any other I/O error, with the OS's words.
    Io {
        detail: String,
    },
    /// The checker type is parsed but not run (BFD_CHECK).
    Unsupported {
        what: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionRefused => f.write_str("connection refused"),
            Self::Timeout { after } => write!(f, "timeout after {}", human_duration(*after)),
            Self::Unreachable { detail } => write!(f, "unreachable: {detail}"),
            Self::HttpStatus { code } => write!(f, "HTTP {code}"),
            Self::DigestMismatch { expected, actual } => {
                write!(f, "digest mismatch: expected {expected}, got {actual}")
            }
            Self::RegexMismatch => f.write_str("body does not match regex"),
            Self::RegexUnwantedMatch => f.write_str("body matches regex (regex_no_match)"),
            Self::Url { path, reason } => write!(f, "GET {path}: {reason}"),
            Self::Tls { detail } => write!(f, "TLS: {detail}"),
            Self::Protocol { detail } => write!(f, "protocol: {detail}"),
            Self::Exit {
                code,
                stderr_first_line,
            } if stderr_first_line.is_empty() => write!(f, "exit {code}"),
            Self::Exit {
                code,
                stderr_first_line,
            } => write!(f, "exit {code}: {stderr_first_line}"),
            Self::Signal { signal } => write!(f, "killed by signal {signal}"),
            Self::TrackFile { name, value } => write!(f, "track_file '{name}' reads {value}"),
            Self::Io { detail } => f.write_str(detail),
            Self::Unsupported { what } => write!(f, "{what} is not supported"),
        }
    }
}

/// "10 s", "1.5 s", "250 ms": how an operator reads a timeout.
fn human_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis >= 1000 && millis % 1000 == 0 {
        format!("{} s", millis / 1000)
    } else if millis >= 1000 {
        format!("{:.1} s", duration.as_secs_f64())
    } else {
        format!("{millis} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_read_like_an_operator_would_say_them() {
        let cases = [
            (Reason::ConnectionRefused, "connection refused"),
            (
                Reason::Timeout {
                    after: Duration::from_secs(10),
                },
                "timeout after 10 s",
            ),
            (
                Reason::Timeout {
                    after: Duration::from_millis(1500),
                },
                "timeout after 1.5 s",
            ),
            (Reason::HttpStatus { code: 503 }, "HTTP 503"),
            (
                Reason::Exit {
                    code: 1,
                    stderr_first_line: "no such file".into(),
                },
                "exit 1: no such file",
            ),
            (
                Reason::Url {
                    path: "/health".into(),
                    reason: Box::new(Reason::HttpStatus { code: 503 }),
                },
                "GET /health: HTTP 503",
            ),
            (
                Reason::TrackFile {
                    name: "maint".into(),
                    value: 1,
                },
                "track_file 'maint' reads 1",
            ),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }
}
