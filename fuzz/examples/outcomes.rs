//! Replays a corpus through a target's harness and counts the answers, to show how deep the
//! fuzzer got (how many inputs were accepted, refused under each rule, …).
//!
//! `cargo run --example outcomes -- <target> <dir>...`

use std::collections::BTreeMap;

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let Some(target) = args.next() else {
        eprintln!("usage: outcomes <target> <dir>...");
        std::process::exit(2);
    };
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for dir in args {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_file() {
                let data = std::fs::read(&path)?;
                *counts
                    .entry(fieldsync_fuzz::run(&target, &data))
                    .or_default() += 1;
            }
        }
    }
    let total: usize = counts.values().sum();
    println!("{target}: {total} inputs");
    for (outcome, n) in counts {
        println!("  {outcome:<32} {n}");
    }
    Ok(())
}
