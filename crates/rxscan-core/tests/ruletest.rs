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
    assert_eq!(report.expectations(), 9);
}

/// Patient 8 left the practice on the index date: in no population, which the why tree
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
    // `rxscan why`'s tree: no current registration, so the population fails at `registered`.
    assert!(
        f.why
            .starts_with("patient 8 at 2021-10-01: no registration current on this date"),
        "{}",
        f.why
    );
    assert!(f.why.contains("    false  registered\n"), "{}", f.why);
}

/// The other spellings the format takes, on the example pack's measure: TOML dates without
/// quotes, `date_of_birth` and `date_of_death`, codes as numbers, `[patient.expect]` as a
/// table, a patient's own index date (relative dates move with it), `I+0`. Outcomes worked by
/// hand: [I-3m, I] at I = 2021-01-01 is 2020-10-01 to 2021-01-01.
#[test]
fn the_format_takes_its_other_spellings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = common::repo().join("testdata/example-pack");
    std::fs::create_dir_all(dir.path().join("codelists")).expect("mkdir");
    std::fs::create_dir_all(dir.path().join("tests")).expect("mkdir");
    std::fs::copy(src.join("rules.rx"), dir.path().join("rules.rx")).expect("copy");
    for c in ["pincer-lith.csv", "pincer-nsaid.csv"] {
        std::fs::copy(
            src.join("codelists").join(c),
            dir.path().join("codelists").join(c),
        )
        .expect("copy");
    }
    let toml = r#"
index_date = 2021-10-01

[[patient]]
id = 1
index_date = "2021-01-01"
date_of_birth = 1950-06-01
sex = "male"
registered = 2000-01-01
practice = "P1"
medications = [["I+0", 879511000001105], [2020-10-01, 329653008]]
expect_practice = "P1"
[patient.expect]
lithium_nsaid = "numerator"

[[patient]]
id = 2
date_of_birth = "1950-06"
sex = "F"
date_of_death = "I"
registered = "2000-01-01"
medications = [["I-1m", "879511000001105"], ["I-21d", "329653008"]]
expect = { lithium_nsaid = "excluded" }
"#;
    std::fs::write(dir.path().join("tests/spellings.toml"), toml).expect("write");
    let pack = Pack::Dir(dir.path().to_path_buf());
    let report = ruletest::run(&pack, &CompileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(report.passed(), "{}", report.render());
    assert_eq!(report.expectations(), 3);
}

/// `@NAME` stands for a code of codelist NAME in no other list over the same table: in the
/// PINCER pack every aspirin code is also an antiplatelet (`antiplat` is aspirin and the
/// others), so `@aspirin` cannot be exact and is refused; `@nsaid` is not ambiguous.
#[test]
fn a_codelist_alias_must_be_exact() {
    let plan = common::pincer();
    let file = |code: &str| {
        format!(
            "index_date = \"2020-03-01\"\n[[patient]]\nid = 1\nborn = \"1950-06\"\nsex = \"F\"\n\
             medications = [[\"I\", \"{code}\"]]\nexpect = {{ a = \"numerator\" }}\n"
        )
    };
    let read = |code: &str| ruletest::read_files(vec![("t.toml".into(), file(code))], &plan);
    let suite = read("@nsaid").unwrap_or_else(|e| panic!("{}", e.render(false)));
    let code = &suite.files[0].patients[0].medications[0].1;
    let nsaid = plan
        .codelists
        .iter()
        .find(|c| c.name == "nsaid")
        .expect("nsaid");
    assert!(nsaid.codes.contains(code));
    assert!(plan
        .codelists
        .iter()
        .filter(|c| c.name != "nsaid" && c.table == nsaid.table)
        .all(|c| !c.codes.contains(code)));
    let err = read("@aspirin").expect_err("ambiguous").render(false);
    assert!(
        err.contains(
            "t.toml:6:22: error[RX060]: every code of `aspirin` is also in another codelist"
        ),
        "{err}"
    );
    let err = read("@gi_bleed")
        .expect_err("a clinical codelist")
        .render(false);
    assert!(
        err.contains("no codelist `gi_bleed` over medications in this pack"),
        "{err}"
    );
}
