//! # rxscan-core
//!
//! Compile declarative prescribing-safety rules (such as the PINCER indicators) into a plan,
//! and evaluate the plan over a GP extract for one or many index dates.
//!
//! The pipeline has one module per stage:
//!
//! | stage | module | representation |
//! |---|---|---|
//! | parse | [`syntax`] | syntax tree with spans |
//! | resolve, check, lower | [`compile`] | [`plan::Plan`]: features and formulas, backend-neutral |
//! | load | [`extract`] | [`extract::Extract`]: patients dense, rows grouped by patient, codes interned |
//! | evaluate | [`eval`] | [`results::Results`]: counts and per-patient flags |
//! | explain | [`evidence`] | [`evidence::Evidence`]: per flagged patient, every deciding condition and its rows |
//! | render | [`results`] | CSV |
//!
//! ```no_run
//! use rxscan_core::{compile, IndexDates, Scan};
//! let compiled = compile::compile_dir("rules/pincer".as_ref(), &Default::default())
//!     .map_err(|e| e.render(false)).unwrap();
//! let dates = IndexDates::of([IndexDates::parse("2020-03-01").unwrap()]).unwrap();
//! let scan = Scan::new(compiled.plan, dates);
//! let extract = scan.load("testdata/demo".as_ref()).unwrap();
//! let results = scan.evaluate(&extract, &Default::default()).unwrap();
//! let m = results.measures.iter().position(|m| m == "a").unwrap();
//! let (num, den) = results.total(0, m);
//! println!("a: {num}/{den}");
//! ```

pub mod compile;
pub mod dates;
pub mod diagnostics;
pub mod error;
pub mod eval;
pub mod evidence;
pub mod extract;
pub mod option_names;
pub mod output;
pub mod packs;
pub mod paths;
pub mod plan;
pub mod results;
pub mod ruletest;
pub mod scan;
pub mod sql;
pub mod syntax;

pub use error::Error;
pub use option_names::OptionNames;
pub use scan::{IndexDates, Scan};
