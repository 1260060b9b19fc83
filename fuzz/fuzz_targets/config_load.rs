//! Feeds arbitrary bytes through the whole configuration pipeline
//! (preprocess, lex, tree, parse, validate, render): nothing may panic or
//! hang, and whatever parses must re-parse from its rendering.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use lvstop::config::load::{self, Options};
use lvstop::config::render;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let options = Options::default();
    // A path in a directory that holds nothing, so relative includes resolve
    // to nothing instead of reading the fuzzer's working directory.
    let outcome = load::load_str(Path::new("/nonexistent-fuzz-dir/fuzz.conf"), &text, &options);
    if !outcome.has_errors() {
        let rendered = render::render(&outcome.config);
        let again = load::load_str(Path::new("/nonexistent-fuzz-dir/again.conf"), &rendered, &options);
        assert_eq!(outcome.config, again.config, "render/parse round trip changed the model");
    }
});
