//! Rewrites a composed configuration with keepalived's preprocessor
//! constructs: `$NAME` parameters (single and multiline, with comments and
//! `\` continuations), `@ID` / `@^ID` conditionals and `~SEQ` lines.

use super::rng::Rng;

/// Applies zero or more constructs to `body`.
pub fn wrap(rng: &mut Rng, body: String) -> String {
    let mut text = body;
    if rng.chance(25) {
        text = parameterise_interface(rng, &text);
    }
    if rng.chance(25) {
        text = multiline_block(rng, &text);
    }
    if rng.chance(15) {
        text = conditionals(rng, &text);
    }
    if rng.chance(20) {
        text = seq_addresses(rng, &text);
    }
    text
}

/// `$IF=eth0` once, then `interface $IF` wherever an interface was named.
fn parameterise_interface(rng: &mut Rng, text: &str) -> String {
    let value = rng.pick(&["eth0", "nosuch0", "eth0 ", ""]);
    let mut out = format!("$IF={value}\n");
    for line in text.lines() {
        if line.trim() == "interface eth0" {
            out.push_str(&line.replace("eth0", "$IF"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    if rng.chance(10) {
        out.push_str("interface $UNDEFINED\n");
    }
    out
}

/// Moves the first top-level block into a multiline `$NAME=` definition
/// (with comment lines, blank continuations and nested blocks inside) and
/// expands it where the block stood.
fn multiline_block(rng: &mut Rng, text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let Some(start) = lines
        .iter()
        .position(|l| !l.starts_with(' ') && l.trim_end().ends_with('{') && !l.starts_with('$'))
    else {
        return text.to_string();
    };
    let Some(len) = lines[start..].iter().position(|l| *l == "}") else {
        return text.to_string();
    };
    let end = start + len;
    let mut def = String::from("$BLOCK=");
    for (i, line) in lines[start..=end].iter().enumerate() {
        if i > 0 && rng.chance(8) {
            def.push_str(pick_str(
                rng,
                &["# a comment line \\\n", "! another comment \\\n", "\\\n"],
            ));
        }
        def.push_str(line);
        if i < end - start {
            def.push_str(" \\");
        }
        def.push('\n');
    }
    let mut out = String::new();
    out.push_str(&def);
    for line in &lines[..start] {
        out.push_str(line);
        out.push('\n');
    }
    out.push_str(pick_str(
        rng,
        &["$BLOCK\n", "$BLOCK\n", "  $BLOCK\n", "$BLOCK extra\n"],
    ));
    for line in &lines[end + 1..] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Prefixes a few lines with conditionals that never hold on a test host.
fn conditionals(rng: &mut Rng, text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        if !line.trim().is_empty() && rng.chance(4) {
            out.push_str(pick_str(rng, &["@nosuchid ", "@^nosuchid ", "@nosuchid\t"]));
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Replaces an address inside a `virtual_ipaddress` block with a `~SEQ`
/// line, sometimes with `$PARAMS` as its arguments.
fn seq_addresses(rng: &mut Rng, text: &str) -> String {
    let mut out = String::new();
    let mut done = false;
    let mut in_vips = false;
    for line in text.lines() {
        if line.trim() == "virtual_ipaddress {" {
            in_vips = true;
        } else if in_vips && !done && !line.contains('}') {
            let args = rng.pick(&[
                "(I,1,3)",
                "(I,1,1,4)",
                "(I,$FIRST,$LAST)",
                "(I,5,1)",
                "(I,1,0,3)",
                "(I,x,3)",
                "(1,3)",
            ]);
            if args.contains('$') {
                out.insert_str(0, "$FIRST=1\n$LAST=3\n");
            }
            out.push_str(&format!("        ~SEQ{args} 198.51.100.$I\n"));
            done = true;
            continue;
        } else if line.contains('}') {
            in_vips = false;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// One of `items`, as a `&'static str`.
fn pick_str(rng: &mut Rng, items: &[&'static str]) -> &'static str {
    items[rng.below(items.len())]
}
