//! `~SEQ`, `~SEQx` and `~LST` line generators: parsing their specification
//! and producing the values their variables take, one assignment at a time.
//!
//! Following keepalived.conf(5) "Sequence blocks" and "List blocks":
//! `~SEQ(var, start, step, end)` with `step` defaulting to ±1 towards `end`
//! and `start` to 1 (or -1 when `end` is negative); `~SEQx` formats in
//! lower-case hexadecimal and takes only non-negative numbers; numbers may be
//! written `0x…`; `~LST(var, v1, v2…)` or `~LST({A,B}, {1,2}, {3,4})`.
//! A step of zero or one pointing away from `end` is an error, as in
//! keepalived. This module never expands the rest of the line; the caller
//! does that once per assignment.

/// Which generator a line starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Seq,
    SeqHex,
    List,
}

impl Kind {
    pub fn keyword(self) -> &'static str {
        match self {
            Kind::Seq => "~SEQ",
            Kind::SeqHex => "~SEQx",
            Kind::List => "~LST",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Kind::Seq | Kind::SeqHex => "seq-syntax",
            Kind::List => "lst-syntax",
        }
    }
}

/// A generator at the start of a line: its kind, the specification between
/// the parentheses, and where the rest of the line starts (byte offsets in
/// the line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub kind: Kind,
    pub at: usize,
    pub spec_start: usize,
    pub spec_end: usize,
    pub rest: usize,
}

/// Finds a generator at the start of `text` (after whitespace). Returns
/// `Ok(None)` when the line does not start with one, `Err((kind, at))` when
/// it does but the parenthesis is not closed.
pub fn head(text: &str) -> Result<Option<Head>, (Kind, usize)> {
    let at = text.len() - text.trim_start().len();
    let rest = text.get(at..).unwrap_or("");
    let kind = if rest.starts_with("~SEQx(") {
        Kind::SeqHex
    } else if rest.starts_with("~SEQ(") {
        Kind::Seq
    } else if rest.starts_with("~LST(") {
        Kind::List
    } else {
        return Ok(None);
    };
    let spec_start = at + kind.keyword().len() + 1;
    let mut depth = 0usize;
    for (i, b) in text.bytes().enumerate().skip(spec_start) {
        match b {
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b')' if depth == 0 => {
                return Ok(Some(Head {
                    kind,
                    at,
                    spec_start,
                    spec_end: i,
                    rest: i + 1,
                }))
            }
            _ => {}
        }
    }
    Err((kind, at))
}

/// The assignments a generator makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Generator {
    Seq {
        var: String,
        start: i128,
        step: i128,
        count: u128,
        hex: bool,
    },
    List {
        vars: Vec<String>,
        rows: Vec<Vec<String>>,
    },
}

impl Generator {
    /// How many times the rest of the line will be processed.
    pub fn count(&self) -> u128 {
        match self {
            Generator::Seq { count, .. } => *count,
            Generator::List { rows, .. } => rows.len() as u128,
        }
    }

    /// The `(variable, value)` pairs of assignment `index`.
    pub fn assignment(&self, index: u128) -> Vec<(&str, String)> {
        match self {
            Generator::Seq {
                var,
                start,
                step,
                hex,
                ..
            } => {
                let value = start.saturating_add(step.saturating_mul(index as i128));
                let text = if *hex {
                    format!("{value:x}")
                } else {
                    value.to_string()
                };
                vec![(var.as_str(), text)]
            }
            Generator::List { vars, rows } => rows
                .get(usize::try_from(index).unwrap_or(usize::MAX))
                .map(|row| {
                    vars.iter()
                        .map(String::as_str)
                        .zip(row.iter().cloned())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

/// Why the text between a generator's parentheses is not a valid
/// specification; the preprocessor reports it at the generator's line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("'{0}' is not an integer")]
    NotAnInteger(String),
    #[error("expected (var, [start, [step,]] end) but found {found} item(s) in '{spec}'")]
    SeqItems { found: usize, spec: String },
    #[error("'{0}' is not a valid variable name")]
    BadVariable(String),
    #[error("~SEQx is only valid for non-negative numbers, found '{0}'")]
    NegativeHex(String),
    #[error("step is zero in '{0}': the sequence would never end")]
    ZeroStep(String),
    #[error("step {step} never reaches {end} from {start} in '{spec}'")]
    NeverReaches {
        step: i128,
        start: i128,
        end: i128,
        spec: String,
    },
    #[error("nested braces in '{0}'")]
    NestedBraces(String),
    #[error("unbalanced '}}' in '{0}'")]
    UnbalancedClose(String),
    #[error("unclosed '{{' in '{0}'")]
    Unclosed(String),
    #[error("'{0}' has text after its closing brace")]
    TextAfterBrace(String),
    #[error("value '{0}' contains whitespace or braces")]
    BadValue(String),
    #[error("empty ~LST")]
    EmptyList,
    #[error("no values to assign in '{0}'")]
    NoValues(String),
    #[error("'{item}' has {values} value(s) for {variables} variable(s)")]
    RowWidth {
        item: String,
        values: usize,
        variables: usize,
    },
}

/// Parses the text between the parentheses.
pub fn parse(kind: Kind, spec: &str) -> Result<Generator, SpecError> {
    match kind {
        Kind::Seq => parse_seq(spec, false),
        Kind::SeqHex => parse_seq(spec, true),
        Kind::List => parse_list(spec),
    }
}

fn parse_number(word: &str) -> Result<i128, SpecError> {
    let (negative, digits) = match word.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, word.strip_prefix('+').unwrap_or(word)),
    };
    let parsed = match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => digits.parse::<u64>(),
    };
    match parsed {
        Ok(n) if !digits.starts_with(['+', '-']) => {
            let n = i128::from(n);
            Ok(if negative { -n } else { n })
        }
        _ => Err(SpecError::NotAnInteger(word.to_string())),
    }
}

fn parse_seq(spec: &str, hex: bool) -> Result<Generator, SpecError> {
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    if !(2..=4).contains(&parts.len()) {
        return Err(SpecError::SeqItems {
            found: parts.len(),
            spec: spec.to_string(),
        });
    }
    let var = parts[0];
    if !super::text::is_param_name(var) {
        return Err(SpecError::BadVariable(var.to_string()));
    }
    let numbers = parts[1..]
        .iter()
        .map(|w| parse_number(w))
        .collect::<Result<Vec<_>, _>>()?;
    let (start, step, end) = match numbers.as_slice() {
        [end] => {
            let start = if *end < 0 { -1 } else { 1 };
            (start, None, *end)
        }
        [start, end] => (*start, None, *end),
        [start, step, end] => (*start, Some(*step), *end),
        _ => {
            return Err(SpecError::SeqItems {
                found: parts.len(),
                spec: spec.to_string(),
            })
        }
    };
    let step = step.unwrap_or(if end >= start { 1 } else { -1 });
    if hex && (start < 0 || end < 0) {
        return Err(SpecError::NegativeHex(spec.to_string()));
    }
    if step == 0 {
        return Err(SpecError::ZeroStep(spec.to_string()));
    }
    if (end > start && step < 0) || (end < start && step > 0) {
        return Err(SpecError::NeverReaches {
            step,
            start,
            end,
            spec: spec.to_string(),
        });
    }
    let count = ((end - start) / step) as u128 + 1;
    Ok(Generator::Seq {
        var: var.to_string(),
        start,
        step,
        count,
        hex,
    })
}

/// Splits at commas that are not inside `{…}`.
fn split_top_level(spec: &str) -> Result<Vec<&str>, SpecError> {
    let mut items = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, b) in spec.bytes().enumerate() {
        match b {
            b'{' => {
                depth += 1;
                if depth > 1 {
                    return Err(SpecError::NestedBraces(spec.to_string()));
                }
            }
            b'}' => {
                if depth == 0 {
                    return Err(SpecError::UnbalancedClose(spec.to_string()));
                }
                depth -= 1;
            }
            b',' if depth == 0 => {
                items.push(spec.get(start..i).unwrap_or("").trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(SpecError::Unclosed(spec.to_string()));
    }
    items.push(spec.get(start..).unwrap_or("").trim());
    Ok(items)
}

/// `{a, b}` → `[a, b]`; `a` → `[a]`.
fn group(item: &str) -> Result<Vec<&str>, SpecError> {
    let words: Vec<&str> = match item.strip_prefix('{') {
        Some(inner) => match inner.strip_suffix('}') {
            Some(inner) => inner.split(',').map(str::trim).collect(),
            None => return Err(SpecError::TextAfterBrace(item.to_string())),
        },
        None => vec![item],
    };
    for word in &words {
        if word.contains(|c: char| c.is_whitespace() || c == '{' || c == '}') {
            return Err(SpecError::BadValue((*word).to_string()));
        }
    }
    Ok(words)
}

fn parse_list(spec: &str) -> Result<Generator, SpecError> {
    let items = split_top_level(spec)?;
    let Some((first, values)) = items.split_first() else {
        return Err(SpecError::EmptyList);
    };
    let vars = group(first)?;
    if let Some(bad) = vars.iter().find(|v| !super::text::is_param_name(v)) {
        return Err(SpecError::BadVariable((*bad).to_string()));
    }
    if values.is_empty() {
        return Err(SpecError::NoValues(spec.to_string()));
    }
    let mut rows = Vec::with_capacity(values.len());
    for item in values {
        let row = group(item)?;
        if row.len() != vars.len() {
            return Err(SpecError::RowWidth {
                item: (*item).to_string(),
                values: row.len(),
                variables: vars.len(),
            });
        }
        rows.push(row.into_iter().map(str::to_string).collect());
    }
    Ok(Generator::List {
        vars: vars.into_iter().map(str::to_string).collect(),
        rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(kind: Kind, spec: &str) -> Vec<String> {
        let g = parse(kind, spec).unwrap();
        (0..g.count())
            .map(|i| {
                g.assignment(i)
                    .into_iter()
                    .map(|(_, v)| v)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect()
    }

    #[test]
    fn heads_are_found_after_whitespace() {
        let h = head("  ~SEQ(A, 1) x").unwrap().unwrap();
        assert_eq!(
            (h.kind, h.at, h.spec_start, h.spec_end, h.rest),
            (Kind::Seq, 2, 7, 11, 12)
        );
        assert_eq!(head("x ~SEQ(A,1)"), Ok(None));
        assert_eq!(head("~LST({A,B},{1,2}"), Err((Kind::List, 0)));
        assert_eq!(head("~SEQx(A,1)").unwrap().unwrap().kind, Kind::SeqHex);
    }

    #[test]
    fn seq_defaults() {
        assert_eq!(values(Kind::Seq, "S, 0, 3"), ["0", "1", "2", "3"]);
        assert_eq!(values(Kind::Seq, "S, 3"), ["1", "2", "3"]);
        assert_eq!(values(Kind::Seq, "S, -2"), ["-1", "-2"]);
        assert_eq!(values(Kind::Seq, "S, 0"), ["1", "0"]);
        assert_eq!(values(Kind::Seq, "S,5,1"), ["5", "4", "3", "2", "1"]);
        assert_eq!(values(Kind::Seq, "S,168,2,172"), ["168", "170", "172"]);
        assert_eq!(values(Kind::Seq, "S,0,2,5"), ["0", "2", "4"]);
    }

    #[test]
    fn seq_hex() {
        assert_eq!(
            values(Kind::SeqHex, "S, 144, 16, 192"),
            ["90", "a0", "b0", "c0"]
        );
        assert_eq!(
            values(Kind::SeqHex, "S, 0x90, 0x10, 0xc0"),
            ["90", "a0", "b0", "c0"]
        );
        assert_eq!(values(Kind::SeqHex, "A, 0x12, -1, 0x0c").len(), 7);
        assert!(parse(Kind::SeqHex, "B,-0x2").is_err());
    }

    #[test]
    fn seq_errors() {
        for bad in [
            "X,0,0,5",
            "X,1,-1,3",
            "X",
            "X,a",
            "1X,3",
            "X,1,2,3,4",
            "X,99999999999999999999999",
        ] {
            assert!(parse(Kind::Seq, bad).is_err(), "{bad}");
        }
        let huge = parse(Kind::Seq, "X,-9223372036854775808,9223372036854775807").unwrap();
        assert_eq!(huge.count(), 1u128 << 64);
    }

    #[test]
    fn lists() {
        assert_eq!(values(Kind::List, "IP, 1, 2, 3"), ["1", "2", "3"]);
        assert_eq!(
            values(Kind::List, "{IP, IP1}, {10,1},{20,4}"),
            ["10,1", "20,4"]
        );
        for bad in [
            "C1, a, b c, d",
            "X",
            "{A,B}, {1}",
            "{A,B, {1,2}",
            "1A, 2",
            "{A,{B}}, 1",
        ] {
            assert!(parse(Kind::List, bad).is_err(), "{bad}");
        }
    }
}
