//! Keyword tables: which keywords a block accepts, under which names, and
//! whether lvstop acts on them.

/// How a keyword is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeywordKind {
    /// Parsed into the typed model and acted on.
    Acted,
    /// Recognised and kept (as a `RawSetting` or a typed field), but lvstop
    /// does not act on it: a warning "parsed, not acted on", once per load,
    /// with this text saying what lvstop does instead.
    Unacted(&'static str),
    /// Recognised, but a configuration using it is refused: lvstop cannot
    /// do what it asks, and going on without it would mislead (an error
    /// with this explanation).
    Refused(&'static str),
    /// Another spelling of the named keyword; accepted silently.
    Alias(&'static str),
    /// An old spelling of the named keyword: accepted, with a warning naming
    /// the modern form.
    Deprecated(&'static str),
    /// Accepted for compatibility and ignored, with this explanation.
    Obsolete(&'static str),
}

/// One entry of a keyword table.
#[derive(Debug, Clone, Copy)]
pub struct Keyword {
    pub name: &'static str,
    pub kind: KeywordKind,
}

/// A keyword table and the block it serves (for the classification test and
/// for listing what lvstop accepts).
#[derive(Debug, Clone, Copy)]
pub struct KeywordTable {
    pub block: &'static str,
    pub keywords: &'static [Keyword],
}

/// Table constructors, to keep tables readable.
pub const fn acted(name: &'static str) -> Keyword {
    Keyword {
        name,
        kind: KeywordKind::Acted,
    }
}

/// A keyword lvstop parses and keeps but does not act on; `instead` says
/// what lvstop does (shown to the operator as a warning).
pub const fn unacted(name: &'static str, instead: &'static str) -> Keyword {
    Keyword {
        name,
        kind: KeywordKind::Unacted(instead),
    }
}

/// A keyword whose configuration lvstop refuses, with the reason.
pub const fn refused(name: &'static str, why: &'static str) -> Keyword {
    Keyword {
        name,
        kind: KeywordKind::Refused(why),
    }
}

pub const fn alias(name: &'static str, of: &'static str) -> Keyword {
    Keyword {
        name,
        kind: KeywordKind::Alias(of),
    }
}

pub const fn deprecated(name: &'static str, modern: &'static str) -> Keyword {
    Keyword {
        name,
        kind: KeywordKind::Deprecated(modern),
    }
}

pub const fn obsolete(name: &'static str, why: &'static str) -> Keyword {
    Keyword {
        name,
        kind: KeywordKind::Obsolete(why),
    }
}

/// Finds `name` in `table`.
pub fn lookup(table: &[Keyword], name: &str) -> Option<Keyword> {
    table.iter().copied().find(|k| k.name == name)
}

/// The closest keyword of `table` to `name`, if close enough to be a likely
/// typo.
pub fn suggest<'t>(table: &'t [Keyword], name: &str) -> Option<&'t str> {
    let lowered = name.to_ascii_lowercase();
    table
        .iter()
        .map(|k| {
            (
                k.name,
                strsim::damerau_levenshtein(&lowered, &k.name.to_ascii_lowercase()),
            )
        })
        .filter(|(candidate, distance)| {
            let limit = (candidate.len().max(name.len()) / 3).clamp(1, 4);
            *distance <= limit
        })
        .min_by_key(|(_, distance)| *distance)
        .map(|(candidate, _)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[Keyword] = &[acted("priority"), acted("advert_int"), acted("state")];

    #[test]
    fn suggests_close_keywords_only() {
        assert_eq!(suggest(TABLE, "priorty"), Some("priority"));
        assert_eq!(suggest(TABLE, "advert_intt"), Some("advert_int"));
        assert_eq!(suggest(TABLE, "STATE"), Some("state"));
        assert_eq!(suggest(TABLE, "weight"), None);
    }
}
