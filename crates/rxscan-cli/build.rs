//! The PINCER pack is compiled into the binary (`src/pack.rs`); rebuild when any of its files
//! changes, which `include_dir!` alone does not tell cargo.
fn main() {
    println!("cargo:rerun-if-changed=../../rules/pincer");
}
