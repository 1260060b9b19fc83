//! Golden files: compare text with a checked-in expectation, or rewrite the
//! expectation when `LVSTOP_BLESS=1`.

use std::path::Path;

/// Compares `actual` with the file at `expected_path`; with `LVSTOP_BLESS=1`
/// writes `actual` there instead. Returns a description of the mismatch.
pub fn check(expected_path: &Path, actual: &str) -> Result<(), String> {
    if std::env::var("LVSTOP_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(expected_path, actual)
            .map_err(|e| format!("{}: {e}", expected_path.display()))?;
        return Ok(());
    }
    let expected = std::fs::read_to_string(expected_path).map_err(|e| {
        format!(
            "{}: {e} (run with LVSTOP_BLESS=1 to create it)",
            expected_path.display()
        )
    })?;
    if expected == actual {
        return Ok(());
    }
    Err(format!(
        "{} differs (LVSTOP_BLESS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
        expected_path.display()
    ))
}
