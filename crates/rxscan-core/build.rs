//! The PINCER pack is compiled into the library (`src/packs.rs`); rebuild when any of its files
//! changes, which `include_dir!` alone does not tell cargo.
fn main() {
    println!("cargo:rerun-if-changed=../../rules/pincer");
}
