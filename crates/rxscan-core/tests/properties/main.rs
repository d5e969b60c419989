//! Property tests: the engine agrees with the reference evaluator (`tests/reference`) on
//! random extracts, for the PINCER pack and for random rule packs, and keeps its invariants.
//!
//! Extracts are generated as abstract specs (which anchor date, how many days off it, which
//! codelist a code comes from, ...) and resolved against the plan and the index dates, so most
//! dates fall within a few days of a window boundary and shrinking keeps failures small. They
//! are written as CSV or Parquet into a temporary folder and read with `Extract::load`, as a
//! user's files would be.
//!
//! Case counts keep the test binary well under two minutes in a debug build on two cores. Set
//! `RXSCAN_PROPTEST_SCALE` (a factor, e.g. `10`) to run more.
//!
//! The modules: [`config`] (case counts), [`generators`] (random extract and date specs),
//! [`resolve`] (specs into raw rows), [`reorder`] (shuffling rows), [`writers`] (raw rows as
//! CSV or Parquet), [`engine`] (loading, running the engine, its results in the reference's
//! shape), [`checks`] (comparing outcomes, counting invariants, the results' layout),
//! [`pincer_cases`] (the shipped pack and random cases for it), [`packs`] (random rule packs
//! from the grammar); the tests: [`specified`] (the shipped pack is the specified one),
//! [`against_reference`] (the engine against the reference) and [`invariants`] (what must not
//! change a result).

#[path = "../common/mod.rs"]
mod common;
#[path = "../reference/mod.rs"]
mod reference;

mod checks;
mod config;
mod engine;
mod generators;
mod packs;
mod pincer_cases;
mod reorder;
mod resolve;
mod writers;

mod against_reference;
mod evidence;
mod invariants;
mod specified;
