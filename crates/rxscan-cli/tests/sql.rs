//! `rxscan sql`: the script's shape (statements a runner can split, the three result views, the
//! dates table worked out when the script is written) and its flags. That its results equal
//! `rxscan scan`'s is proven on real engines by `.ci/sql-engines.sh`.

use std::process::{Command, Output};

fn rxscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .args(args)
        .output()
        .expect("run rxscan")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn writes_one_script_with_the_three_views_and_the_dates_table() {
    for dialect in ["duckdb", "spark"] {
        let o = rxscan(&[
            "sql",
            "--dialect",
            dialect,
            "--index-date",
            "2020-03-01",
            "--index-date",
            "2021-01-01",
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = stdout(&o);
        for view in ["rxscan_summary", "rxscan_patients", "rxscan_composites"] {
            assert!(
                text.contains(&format!("VIEW {view} AS")),
                "{dialect}: no view {view}"
            );
        }
        // Both dates, and I-3m and I-15m of the first worked by hand (INDICATORS.md §2.3).
        for day in ["2020-03-01", "2021-01-01", "2019-12-01", "2018-12-01"] {
            assert!(
                text.contains(&format!("DATE '{day}'")),
                "{dialect}: no {day}"
            );
        }
        // A runner splits on `;` at the end of a line: every statement ends so, and no `;`
        // stands anywhere else at the end of a line.
        let ends = text.lines().filter(|l| l.trim_end().ends_with(';')).count();
        let starts = text
            .lines()
            .filter(|l| l.starts_with("CREATE") || l.starts_with("CACHE") || l.starts_with("DROP"))
            .count();
        assert_eq!(ends, starts, "{dialect}: one `;` line end per statement");
        assert!(text.trim_end().ends_with(';'));
    }
}

#[test]
fn tables_prefix_and_codelists_csv() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("codelists.csv");
    let script = dir.path().join("pincer.sql");
    let o = rxscan(&[
        "sql",
        "--dialect",
        "spark",
        "--from",
        "2020-01-01",
        "--to",
        "2020-03-01",
        "--tables",
        "db.rx.",
        "--codelists-table",
        "db.rx.codelists",
        "--codelists-csv",
        csv.to_str().expect("utf-8"),
        "--out",
        script.to_str().expect("utf-8"),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&script).expect("script");
    for t in [
        "db.rx.patients",
        "db.rx.practice_registrations",
        "db.rx.medications",
        "db.rx.clinical_events",
        "FROM db.rx.codelists",
    ] {
        assert!(text.contains(t), "no {t}");
    }
    // The series: three firsts of the month.
    assert!(text.contains("DATE '2020-02-01'"));
    let lists = std::fs::read_to_string(&csv).expect("codelists csv");
    assert!(lists.starts_with("codelist,code\n"));
    // The first code of rules/pincer/codelists/pincer-nsaid.csv.
    assert!(lists.contains("\nnsaid,329923004\n"));
}

#[test]
fn a_bad_dialect_or_date_is_an_error_naming_the_flag() {
    let o = rxscan(&["sql", "--dialect", "oracle", "--index-date", "2020-03-01"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--dialect oracle"));
    let o = rxscan(&["sql", "--dialect", "duckdb", "--index-date", "2020-03-15"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--index-date"));
}
