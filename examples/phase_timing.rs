//! Times each stage of the configuration pipeline on a generated config:
//! `phase_timing [VIRTUAL_SERVERS] [REAL_SERVERS]` (default 2300 16).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::Path;
use std::time::Instant;

use lvstop::config::{diagnostic::Diagnostics, parse, preprocess, tree, validate};

fn main() {
    let mut args = std::env::args().skip(1);
    let vs = args.next().and_then(|a| a.parse().ok()).unwrap_or(2_300);
    let rs = args.next().and_then(|a| a.parse().ok()).unwrap_or(16);
    let text = lvstop::config::generate::director(vs, rs);
    for _ in 0..3 {
        let start = Instant::now();
        let mut d = Diagnostics::new();
        let options = preprocess::LoadOptions::default();
        let loaded = preprocess::load_str(Path::new("x.conf"), &text, &options, &mut d);
        let t_pre = start.elapsed();
        let nodes = tree::build(&loaded.lines, &mut d);
        let t_tree = start.elapsed();
        let config = parse::parse(&nodes, Default::default(), &mut d);
        let t_parse = start.elapsed();
        validate::validate(&config, &mut d);
        let t_validate = start.elapsed();
        drop((config, nodes, loaded));
        let t_drop = start.elapsed();
        println!(
            "preprocess {:?}  tree {:?}  parse {:?}  validate {:?}  drop {:?}  total {:?}",
            t_pre,
            t_tree - t_pre,
            t_parse - t_tree,
            t_validate - t_parse,
            t_drop - t_validate,
            t_drop
        );
    }
}
