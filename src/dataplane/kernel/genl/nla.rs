//! Small helpers shared by the attribute codecs: nested lists, fixed-size
//! values and NUL-terminated strings as the kernel's `nla_put_string` writes
//! them.

use netlink_packet_core::{DecodeError, Emitable, NlaBuffer, NlasIterator, Parseable};

/// Parse every attribute of a nested attribute's payload.
pub(crate) fn parse_nested<T>(payload: &[u8]) -> Result<Vec<T>, DecodeError>
where
    T: for<'a> Parseable<NlaBuffer<&'a [u8]>>,
{
    NlasIterator::new(payload)
        .map(|nla| nla.and_then(|nla| T::parse(&nla)))
        .collect()
}

/// The payload length of a nested list.
pub(crate) fn nested_len<T: Emitable>(attrs: &[T]) -> usize {
    attrs.iter().map(Emitable::buffer_len).sum()
}

/// Emit a nested list into `buffer` (sized by [`nested_len`]).
pub(crate) fn emit_nested<T: Emitable>(attrs: &[T], buffer: &mut [u8]) {
    let mut start = 0;
    for attr in attrs {
        let end = start + attr.buffer_len();
        attr.emit(&mut buffer[start..end]);
        start = end;
    }
}

/// Exactly `N` bytes, or a decode error naming `what`.
pub(crate) fn fixed<const N: usize>(value: &[u8], what: &str) -> Result<[u8; N], DecodeError> {
    value
        .try_into()
        .map_err(|_| DecodeError::from(format!("{what}: expected {N} bytes, got {}", value.len())))
}

pub(crate) fn u8_of(value: &[u8], what: &str) -> Result<u8, DecodeError> {
    Ok(fixed::<1>(value, what)?[0])
}

pub(crate) fn u16_ne(value: &[u8], what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(fixed(value, what)?))
}

pub(crate) fn u16_be(value: &[u8], what: &str) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(fixed(value, what)?))
}

pub(crate) fn u32_ne(value: &[u8], what: &str) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(fixed(value, what)?))
}

pub(crate) fn u64_ne(value: &[u8], what: &str) -> Result<u64, DecodeError> {
    Ok(u64::from_ne_bytes(fixed(value, what)?))
}

/// A string attribute: the bytes up to the first NUL (the kernel always
/// writes one; user space usually does).
pub(crate) fn string_of(value: &[u8], what: &str) -> Result<String, DecodeError> {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8(value[..end].to_vec())
        .map_err(|e| DecodeError::from(format!("{what}: not UTF-8: {e}")))
}

/// Length of a string attribute's value with its terminating NUL.
pub(crate) fn string_len(s: &str) -> usize {
    s.len() + 1
}

pub(crate) fn emit_string(s: &str, buffer: &mut [u8]) {
    buffer[..s.len()].copy_from_slice(s.as_bytes());
    buffer[s.len()] = 0;
}

/// A nested attribute's children and whether the sender set
/// `NLA_F_NESTED` on it: libnl (ipvsadm) does, the kernel's replies do not.
/// Keeping the bit makes both re-emit byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Nest<T> {
    pub attrs: Vec<T>,
    pub flagged: bool,
}

impl<T> Nest<T> {
    /// A nest as user space sends it (`NLA_F_NESTED` set).
    pub fn new(attrs: Vec<T>) -> Self {
        Nest {
            attrs,
            flagged: true,
        }
    }

    /// A nest as the kernel sends it (no `NLA_F_NESTED`).
    pub fn unflagged(attrs: Vec<T>) -> Self {
        Nest {
            attrs,
            flagged: false,
        }
    }

    pub(crate) fn kind(&self, kind: u16) -> u16 {
        if self.flagged {
            kind | netlink_packet_core::NLA_F_NESTED
        } else {
            kind
        }
    }

    pub(crate) fn parse<'a, B>(buf: &NlaBuffer<&'a B>) -> Result<Self, DecodeError>
    where
        B: AsRef<[u8]> + ?Sized,
        T: for<'b> Parseable<NlaBuffer<&'b [u8]>>,
    {
        Ok(Nest {
            attrs: parse_nested(buf.value())?,
            flagged: buf.nested_flag(),
        })
    }
}

impl<T: Emitable> Nest<T> {
    pub(crate) fn value_len(&self) -> usize {
        nested_len(&self.attrs)
    }

    pub(crate) fn emit_value(&self, buffer: &mut [u8]) {
        emit_nested(&self.attrs, buffer)
    }
}
