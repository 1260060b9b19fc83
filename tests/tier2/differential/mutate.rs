//! Mutations of keepalived's shipped sample configurations: lines dropped,
//! doubled or swapped, values replaced by bad ones, keywords planted where
//! they do not belong.

use super::rng::Rng;

const BAD_VALUES: &[&str] = &[
    "",
    "-1",
    "0",
    "256",
    "abc",
    "1.5",
    "0x10",
    "300.1.1.1",
    "::1",
    "99999999999",
    "{",
    "}",
    "yes",
    "\"quoted value\"",
];

const PLANTED: &[&str] = &[
    "priority 50",
    "priority",
    "weight 3",
    "alpha 1",
    "omega 1",
    "quorum 2",
    "virtual_server_group vsg1",
    "smtp_server -1 25",
    "interface nosuch0",
    "nb_get_retry 3",
    "unknown_keyword 1",
    "lb_algo rr",
    "delay_loop 3",
    "nopreempt",
    "track_file tf1",
    "persistence_granularity 255.255.255.0",
    "digest abc",
    "}",
    "{",
    "foo_block {",
];

/// One mutated copy of `sample`.
pub fn mutate(rng: &mut Rng, sample: &str) -> String {
    let mut lines: Vec<String> = sample.lines().map(str::to_string).collect();
    for _ in 0..=rng.below(3) {
        if lines.is_empty() {
            break;
        }
        let at = rng.below(lines.len());
        match rng.below(6) {
            0 => {
                lines.remove(at);
            }
            1 => {
                let copy = lines[at].clone();
                lines.insert(at, copy);
            }
            2 => {
                let other = rng.below(lines.len());
                lines.swap(at, other);
            }
            3 | 4 => {
                let words: Vec<&str> = lines[at].split_whitespace().collect();
                if words.len() >= 2 {
                    let indent: String = lines[at]
                        .chars()
                        .take_while(|c| c.is_whitespace())
                        .collect();
                    let keep = words[..words.len() - 1].join(" ");
                    lines[at] = format!("{indent}{keep} {}", rng.pick(BAD_VALUES));
                }
            }
            _ => lines.insert(at, format!("    {}", rng.pick(PLANTED))),
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}
