//! The library side of `rxscan test` (`rxscan_core::ruletest`) on the README's example pack
//! (`testdata/example-pack`): what a failure reports, worked by hand from the pack's one
//! measure (lithium and an NSAID, both in [I-3m, I]).

mod common;

use rxscan_core::compile::CompileOptions;
use rxscan_core::packs::Pack;
use rxscan_core::ruletest::{self, Outcome, Suite};

fn example() -> (rxscan_core::plan::Plan, Suite) {
    let pack = Pack::Dir(common::repo().join("testdata/example-pack"));
    let plan = pack
        .compile(&CompileOptions::default())
        .expect("compiles")
        .plan;
    let suite = ruletest::read_suite(&pack, &plan).unwrap_or_else(|e| panic!("{e}"));
    (plan, suite)
}

#[test]
fn the_example_pack_holds() {
    let (plan, suite) = example();
    let report = ruletest::run_suite(&plan, &suite).expect("runs");
    assert!(report.passed(), "{}", report.render());
    assert_eq!(report.expectations(), 8);
}

/// Patient 8 left the practice on the index date: not evaluated at all, which the why tree
/// says; patient 1 (lithium and an NSAID) expected at another practice than the one it has.
#[test]
fn failures_name_the_line_the_patient_and_why() {
    let (plan, mut suite) = example();
    let patients = &mut suite.files[0].patients;
    let p8 = patients.iter_mut().find(|p| p.id == 8).expect("patient 8");
    p8.expect[0].outcome = Outcome::Numerator;
    let p1 = patients.iter_mut().find(|p| p.id == 1).expect("patient 1");
    p1.expect_practice = Some(("2".into(), p1.expect[0].span));
    let report = ruletest::run_suite(&plan, &suite).expect("runs");
    assert_eq!(report.failures.len(), 2, "{}", report.render());

    let f = &report.failures[0];
    assert_eq!(
        (f.patient, f.line, f.measure.as_deref()),
        (1, 15, None),
        "the practice of patient 1, at the line of its expectation"
    );
    assert_eq!(
        (f.expected.as_str(), f.actual.as_str()),
        ("practice 2", "practice 1")
    );

    let f = &report.failures[1];
    assert_eq!((f.patient, f.line), (8, 60));
    assert_eq!(f.measure.as_deref(), Some("lithium_nsaid"));
    assert_eq!(
        (f.expected.as_str(), f.actual.as_str()),
        ("numerator", "excluded")
    );
    assert!(
        f.why
            .starts_with("  not evaluated: no registration current at the index date"),
        "{}",
        f.why
    );
    assert!(f.why.contains("  -   registered\n"), "{}", f.why);
}
