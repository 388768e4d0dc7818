//! Writes the seed corpora: each target's valid inputs from `fieldsync_fuzz::seed_inputs`, one
//! file each, into `<dir>/<target>/<name>` (default dir: `fuzz/corpus`).

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/corpus").to_string());
    let mut written = 0;
    for seed in fieldsync_fuzz::seed_inputs() {
        let target_dir = std::path::Path::new(&dir).join(seed.target);
        std::fs::create_dir_all(&target_dir)?;
        std::fs::write(target_dir.join(seed.name), &seed.data)?;
        written += 1;
    }
    println!("wrote {written} seed inputs under {dir}");
    Ok(())
}
