//! Verbs a host program adds to the `:` command line and carries out
//! itself (`lvstop demo` adds `:demo`). The console checks a line
//! against the verb's forms, forwards its words and shows the answer; it
//! never learns what a host's verbs do, and it names no host.

use tokio::sync::{mpsc, oneshot};

/// One verb a host adds, with the forms it accepts: words in capitals
/// are placeholders (`stop NAME`), the others must be typed as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionVerb {
    pub verb: String,
    pub forms: Vec<String>,
}

impl ExtensionVerb {
    /// Whether `args` (the words after the verb) fit one of the forms.
    pub fn accepts(&self, args: &[&str]) -> bool {
        self.forms.iter().any(|form| {
            let words: Vec<&str> = form.split_whitespace().collect();
            words.len() == args.len()
                && words
                    .iter()
                    .zip(args)
                    .all(|(expected, typed)| is_placeholder(expected) || expected == typed)
        })
    }

    /// `demo stop NAME | demo kill`, for the error on a line that fits
    /// no form.
    pub fn usage(&self) -> String {
        self.forms
            .iter()
            .map(|form| format!("{} {form}", self.verb))
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

fn is_placeholder(word: &str) -> bool {
    word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
}

/// A line using a host's verb, and where its answer goes: a line to
/// show, or why it failed.
#[derive(Debug)]
pub struct ExtensionRequest {
    pub verb: String,
    pub args: Vec<String>,
    pub answer: oneshot::Sender<Result<String, String>>,
}

/// What a host adds to the console: its verbs, and where lines using
/// them go.
#[derive(Debug, Clone)]
pub struct Extension {
    pub verbs: Vec<ExtensionVerb>,
    pub requests: mpsc::Sender<ExtensionRequest>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verb() -> ExtensionVerb {
        ExtensionVerb {
            verb: "demo".into(),
            forms: vec!["stop NAME".into(), "kill".into()],
        }
    }

    #[test]
    fn a_line_fits_when_its_words_match_a_form_with_placeholders_free() {
        assert!(verb().accepts(&["stop", "rs1"]));
        assert!(verb().accepts(&["kill"]));
        assert!(!verb().accepts(&["stop"]));
        assert!(!verb().accepts(&["kill", "now"]));
        assert!(!verb().accepts(&["start", "rs1"]));
    }

    #[test]
    fn usage_lists_every_form_after_the_verb() {
        assert_eq!(verb().usage(), "demo stop NAME | demo kill");
    }
}
