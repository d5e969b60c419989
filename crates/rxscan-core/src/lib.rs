//! # rxscan-core
//!
//! Compile declarative prescribing-safety rules (such as the PINCER indicators) into a plan,
//! and evaluate the plan over a GP extract for one or many index dates.
//!
//! The pipeline has one module per stage:
//!
//! | stage | module | representation |
//! |---|---|---|
//! | parse | [`rules`] | syntax tree with spans |
//! | resolve, check, lower | [`compile`] | [`plan::Plan`]: features and formulas, backend-neutral |
//! | load | [`extract`] | [`extract::Extract`]: patients dense, rows grouped by patient, codes interned |
//! | evaluate | [`eval`] | [`results::Results`]: counts and per-patient flags |
//! | render | [`results`] | CSV |
//!
//! ```no_run
//! use rxscan_core::{compile, dates, eval, extract};
//! let compiled = compile::compile_dir("rules/pincer".as_ref(), &Default::default())
//!     .map_err(|e| e.render(false)).unwrap();
//! let plan = compiled.plan;
//! let ex = extract::Extract::load("testdata/demo".as_ref(), &extract::LoadOptions::for_plan(&plan)).unwrap();
//! let index = dates::parse_iso("2020-03-01").unwrap();
//! let results = eval::evaluate(&plan, &ex, &[index], &eval::EvalOptions::default()).unwrap();
//! let m = results.measures.iter().position(|m| m == "a").unwrap();
//! let (num, den) = results.total(0, m);
//! println!("a: {num}/{den}");
//! ```

pub mod compile;
pub mod dates;
pub mod diagnostics;
pub mod eval;
pub mod extract;
pub mod output;
pub mod plan;
pub mod results;
pub mod rules;
