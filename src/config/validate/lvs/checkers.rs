//! Checker rules: checkers keepalived 2.2.7 drops or that can never pass.

use crate::config::diagnostic::{Diagnostic, Diagnostics};
use crate::config::model::lvs::{Checker, CheckerKind};

pub(super) fn checker(checker: &Checker, diagnostics: &mut Diagnostics) {
    let at = checker.kind.at;
    let keyword = checker.kind.value.keyword();
    match &checker.kind.value {
        CheckerKind::Http(http) | CheckerKind::Ssl(http) => {
            if http.urls.is_empty() {
                diagnostics.push(
                    Diagnostic::warning(
                        "checker-without-url",
                        format!("{keyword} has no 'url' block; keepalived ignores this checker"),
                    )
                    .spanning(at, keyword.len())
                    .with_help("add 'url { path / }'"),
                );
            }
            for url in &http.urls {
                if url.path.is_none() {
                    diagnostics.push(
                        Diagnostic::warning(
                            "url-without-path",
                            "this url has no 'path'; keepalived ignores it",
                        )
                        .spanning(url.at.at, 3)
                        .with_help("add 'path /'"),
                    );
                }
            }
        }
        CheckerKind::Udp(udp) => {
            let min = udp.min_reply_length.map_or(0, |m| m.value);
            let max = udp.max_reply_length.map_or(255, |m| m.value);
            if min > max {
                let at = udp
                    .min_reply_length
                    .or(udp.max_reply_length)
                    .map_or(at, |m| m.at);
                diagnostics.push(
                    Diagnostic::warning(
                        "reply-length-order",
                        format!(
                            "min_reply_length {min} is above max_reply_length {max} (default \
                             255); this check always fails"
                        ),
                    )
                    .at(at)
                    .with_help("raise max_reply_length or lower min_reply_length"),
                );
            }
        }
        CheckerKind::File(file) if file.track_file.is_none() => diagnostics.push(
            Diagnostic::warning(
                "checker-incomplete",
                "FILE_CHECK has no 'track_file'; keepalived ignores this checker",
            )
            .spanning(at, keyword.len())
            .with_help("add 'track_file NAME' naming a track_file block"),
        ),
        CheckerKind::Misc(misc) if misc.path.is_none() => diagnostics.push(
            Diagnostic::warning(
                "checker-incomplete",
                "MISC_CHECK has no 'misc_path'; there is nothing to run",
            )
            .spanning(at, keyword.len())
            .with_help("add 'misc_path /path/to/check'"),
        ),
        _ => {}
    }
}
