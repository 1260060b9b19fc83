//! ipvsadm's counter printer: the nine-column cells of `--stats` and
//! `--rate`, abbreviated with K/M/G/T suffixes unless `--exact` is given.

use super::text::{digits, push_right};

/// Append one counter cell as ipvsadm prints it.
///
/// Abbreviated (the default): values below 10^8 are right-aligned in nine
/// columns; larger ones are divided down and printed in eight columns plus
/// a suffix — `K` (thousands) below 10^9, `M` (millions) below 10^11, `G`
/// (billions) below 10^14, `T` (trillions) above. The division truncates.
///
/// Exact: the full value, right-aligned in nine columns, or with a single
/// leading space when it has nine digits or more (so cells never touch).
pub fn push_counter(out: &mut String, value: u64, exact: bool) {
    let mut buf = [0u8; 20];
    if exact {
        let text = digits(value, &mut buf);
        let width = if text.len() <= 8 { 9 } else { text.len() + 1 };
        push_right(out, text, width);
        return;
    }
    let (scaled, suffix) = if value < 100_000_000 {
        (value, None)
    } else if value < 1_000_000_000 {
        (value / 1_000, Some('K'))
    } else if value < 100_000_000_000 {
        (value / 1_000_000, Some('M'))
    } else if value < 100_000_000_000_000 {
        (value / 1_000_000_000, Some('G'))
    } else {
        (value / 1_000_000_000_000, Some('T'))
    };
    match suffix {
        None => push_right(out, digits(scaled, &mut buf), 9),
        Some(unit) => {
            push_right(out, digits(scaled, &mut buf), 8);
            out.push(unit);
        }
    }
}

#[cfg(test)]
fn decimal_digits(mut value: u64) -> usize {
    let mut digits = 1;
    while value >= 10 {
        value /= 10;
        digits += 1;
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(value: u64, exact: bool) -> String {
        let mut s = String::new();
        push_counter(&mut s, value, exact);
        s
    }

    #[test]
    fn small_values_fill_nine_columns() {
        assert_eq!(cell(0, false), "        0");
        assert_eq!(cell(99_999_999, false), " 99999999");
    }

    #[test]
    fn large_values_get_a_suffix_and_truncate() {
        // ipvsadm: "%8lluK" of 123456789 / 1000
        assert_eq!(cell(100_000_000, false), "  100000K");
        assert_eq!(cell(123_456_789, false), "  123456K");
        assert_eq!(cell(999_999_999, false), "  999999K");
        assert_eq!(cell(1_000_000_000, false), "    1000M");
        assert_eq!(cell(99_999_999_999, false), "   99999M");
        assert_eq!(cell(100_000_000_000, false), "     100G");
        assert_eq!(cell(99_999_999_999_999, false), "   99999G");
        assert_eq!(cell(100_000_000_000_000, false), "     100T");
        // Eight digits fill the column: the cell touches its neighbour.
        assert_eq!(cell(u64::MAX, false), "18446744T");
    }

    #[test]
    fn exact_values_keep_one_separating_space() {
        assert_eq!(cell(0, true), "        0");
        assert_eq!(cell(12_345_678, true), " 12345678");
        assert_eq!(cell(123_456_789, true), " 123456789");
        assert_eq!(cell(u64::MAX, true), " 18446744073709551615");
    }

    #[test]
    fn digit_count_matches_the_decimal_rendering() {
        for v in [0, 9, 10, 99, 100, 12345, u64::MAX] {
            assert_eq!(decimal_digits(v), v.to_string().len());
        }
    }
}
