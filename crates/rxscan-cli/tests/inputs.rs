//! Real exports in (issue 12): column mappings, absent columns said, loose header matches,
//! dates with a time of day, sex values outside the known spellings, compressed input, and
//! `run.json`.
//!
//! The oracle is `testdata/e2e/expected` (worked by hand from INDICATORS.md): an extract that
//! says the same thing another way must scan to exactly those files. Where the input changes
//! what is counted (a patient whose sex is not M or F), the expected change is worked here.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tempfile::TempDir;

const TABLES: [&str; 4] = [
    "patients",
    "practice_registrations",
    "medications",
    "clinical_events",
];
const OUTPUTS: [&str; 3] = ["summary.csv", "patients.csv", "composites.csv"];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `rxscan scan` of `data` at the e2e dates into a fresh folder, with `extra` arguments.
fn scan(data: &Path, extra: &[&str]) -> (Output, TempDir) {
    let out = tempfile::tempdir().expect("tempdir");
    let mut args: Vec<&str> = vec![
        "scan",
        "--data",
        data.to_str().expect("utf8"),
        "--out",
        out.path().to_str().expect("utf8"),
        "--index-date",
        "2020-03-01",
        "--index-date",
        "2020-04-01",
        "--quiet",
    ];
    args.extend(extra);
    let run = Command::new(env!("CARGO_BIN_EXE_rxscan"))
        .current_dir(repo())
        .args(&args)
        .output()
        .expect("run rxscan");
    (run, out)
}

fn stderr(run: &Output) -> String {
    String::from_utf8_lossy(&run.stderr).into_owned()
}

/// The scan succeeded and its three outputs are those of `testdata/e2e/expected`.
fn assert_e2e_outputs(run: &Output, out: &Path) {
    assert!(run.status.success(), "stderr:\n{}", stderr(run));
    for file in OUTPUTS {
        let got = std::fs::read_to_string(out.join(file)).expect("output");
        let want = std::fs::read_to_string(repo().join("testdata/e2e/expected").join(file))
            .expect("expected");
        assert_eq!(got, want, "{file} differs from testdata/e2e/expected");
    }
}

/// A copy of `testdata/e2e`'s tables, each passed through `edit(table, text)`.
fn e2e_with(edit: impl Fn(&str, String) -> String) -> TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for t in TABLES {
        let text = std::fs::read_to_string(repo().join(format!("testdata/e2e/{t}.csv")))
            .expect("read table");
        std::fs::write(dir.path().join(format!("{t}.csv")), edit(t, text)).expect("write");
    }
    dir
}

fn run_json(out: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(out.join("run.json")).expect("run.json");
    serde_json::from_str(&text).expect("run.json is JSON")
}

#[test]
fn both_example_layouts_scan_as_their_ehrql_shaped_twin() {
    for layout in ["emis-like", "systmone-like"] {
        let data = repo().join("testdata/mappings").join(layout);
        let mapping = format!("docs/mappings/{layout}.toml");
        let (run, out) = scan(&data, &["--mapping", &mapping]);
        assert_e2e_outputs(&run, out.path());
        assert_eq!(stderr(&run), "", "{layout}: nothing to warn about");
        let json = run_json(out.path());
        assert_eq!(json["mapping"], mapping.as_str());
        assert_eq!(json["inputs"].as_array().expect("inputs").len(), 4);
    }
}

/// An export whose files all sit in a subfolder, named so by its mapping, is one extract (not
/// a folder of practice folders): the same outputs as the flat layout. Without the mapping the
/// subfolder is read as a practice folder, and its error says the tables are not there.
#[test]
fn a_mapped_export_with_every_file_in_a_subfolder_is_one_extract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("export 2020-04");
    std::fs::create_dir(&sub).expect("subfolder");
    for entry in std::fs::read_dir(repo().join("testdata/mappings/emis-like")).expect("layout") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, sub.join(path.file_name().expect("name"))).expect("copy");
    }
    let text = std::fs::read_to_string(repo().join("docs/mappings/emis-like.toml"))
        .expect("mapping")
        .replace("file = \"", "file = \"export 2020-04/");
    assert_eq!(text.matches("file = \"export 2020-04/").count(), 4);
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, text).expect("write mapping");
    let (run, out) = scan(dir.path(), &["--mapping", mapping.to_str().expect("utf8")]);
    assert_e2e_outputs(&run, out.path());
    let (run, _out) = scan(dir.path(), &[]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(stderr(&run).contains("export 2020-04"), "{}", stderr(&run));
}

#[test]
fn a_date_not_in_the_declared_format_names_file_line_column_value_and_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = repo().join("testdata/mappings/emis-like");
    for entry in std::fs::read_dir(&src).expect("layout") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    // The medications table writes 14-Aug-2021; one row writes an ISO date instead.
    let meds = dir.path().join("Medication Issues.csv");
    let text = std::fs::read_to_string(&meds).expect("read");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[4] = lines[4].replacen(
        &lines[4].split(',').nth(1).expect("date").to_string(),
        "2020-02-01",
        1,
    );
    std::fs::write(&meds, lines.join("\r\n") + "\r\n").expect("write");
    let (run, _out) = scan(dir.path(), &["--mapping", "docs/mappings/emis-like.toml"]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(
        err.contains("Medication Issues.csv:line 5: column 2 `Issue Date`: invalid date: \"2020-02-01\"; expected a date in the mapping's date_format `%d-%b-%Y`"),
        "{err}"
    );
}

#[test]
fn a_missing_date_of_death_is_an_error_until_declared_absent() {
    let dir = e2e_with(|t, text| match t {
        // Drop the last column (date_of_death), and the one death (patient 24), so that
        // declaring the column absent gives the e2e outputs less that death's effect.
        "patients" => text
            .lines()
            .map(|l| l.rsplit_once(',').expect("columns").0.to_string() + "\n")
            .collect(),
        _ => text,
    });
    let (run, out) = scan(dir.path(), &[]);
    assert_eq!(run.status.code(), Some(2));
    let err = stderr(&run);
    assert!(
        err.contains("patients.csv: missing column `date_of_death`"),
        "{err}"
    );
    assert!(
        err.contains("`date_of_death = false` under [patients.columns] in a mapping, or --absent patients.date_of_death"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(out.path()).expect("dir").count(), 0);

    let (run, out) = scan(dir.path(), &["--absent", "patients.date_of_death"]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        run_json(out.path())["columns_declared_absent"],
        serde_json::json!(["patients.date_of_death"])
    );
    // The same through a mapping that names no file or column, only the absence.
    let mapping = dir.path().join("absent.toml");
    std::fs::write(&mapping, "[patients.columns]\ndate_of_death = false\n").expect("write");
    let (run2, out2) = scan(dir.path(), &["--mapping", mapping.to_str().expect("utf8")]);
    assert!(run2.status.success(), "{}", stderr(&run2));
    for file in OUTPUTS {
        assert_eq!(
            std::fs::read(out.path().join(file)).expect("a"),
            std::fs::read(out2.path().join(file)).expect("b"),
            "{file}: --absent and the mapping say the same"
        );
    }
    // Patient 24 died on 2020-04-01 (§2.7: dead on or before I leaves the population): with no
    // date of death, they are counted at 2020-04-01 too, so the outputs differ there.
    let summary = std::fs::read_to_string(out.path().join("summary.csv")).expect("summary");
    let want = std::fs::read_to_string(repo().join("testdata/e2e/expected/summary.csv"))
        .expect("expected");
    assert_ne!(summary, want, "a death unread changes the counts");
}

#[test]
fn a_missing_mapping_file_names_the_flag() {
    let (run, _out) = scan(&repo().join("testdata/e2e"), &["--mapping", "no/such.toml"]);
    assert_eq!(run.status.code(), Some(2));
    assert_eq!(
        stderr(&run),
        "error: --mapping no/such.toml: no such file\n"
    );
}

#[test]
fn an_unknown_absent_field_is_refused() {
    let (run, _out) = scan(
        &repo().join("testdata/e2e"),
        &["--absent", "medications.dmd_code"],
    );
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("--absent medications.dmd_code: only patients.date_of_death and clinical_events.comparator may be declared absent"),
        "{}",
        stderr(&run)
    );
}

#[test]
fn a_missing_comparator_warns_once_naming_k_and_run_json_records_it() {
    let dir = e2e_with(|t, text| match t {
        "clinical_events" => text
            .lines()
            .map(|l| l.rsplit_once(',').expect("columns").0.to_string() + "\n")
            .collect(),
        _ => text,
    });
    let (run, out) = scan(dir.path(), &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let err = stderr(&run);
    let warning = "warning: the clinical_events table has no comparator column: every numeric value is read without a comparator, which changes what measure(s) k find (they read comparators)\n";
    assert_eq!(err, warning, "one warning, naming k and only k");
    let json = run_json(out.path());
    // The e2e extract has no registration_id either (optional: the file's order breaks full
    // registration ties), and run.json says so too.
    assert_eq!(
        json["optional_columns_missing"],
        serde_json::json!([
            "practice_registrations.registration_id",
            "clinical_events.comparator"
        ])
    );
    assert_eq!(
        json["warnings"],
        serde_json::json!([warning.trim_start_matches("warning: ").trim_end()])
    );
}

#[test]
fn the_measures_named_are_those_whose_formulas_read_comparators() {
    // With the literal-precedence switch on, ac's denominator reads k's (§4 ac), so ac reads
    // comparators too; declared absent, the warning says so.
    let (run, out) = scan(
        &repo().join("testdata/e2e"),
        &[
            "--absent",
            "clinical_events.comparator",
            "--param",
            "ac_literal_precedence=true",
        ],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(
        stderr(&run),
        "warning: clinical_events.comparator is declared absent: every numeric value is read without a comparator, which changes what measure(s) k, ac find (they read comparators)\n"
    );
    assert_eq!(
        run_json(out.path())["columns_declared_absent"],
        serde_json::json!(["clinical_events.comparator"])
    );
}

#[test]
fn dates_with_a_time_of_day_load_as_their_calendar_day() {
    let times = ["09:30", "T09:30:00", "T23:59:59Z"];
    let dir = e2e_with(|_, text| {
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            let fields: Vec<String> = line
                .split(',')
                .map(|f| {
                    let is_date =
                        f.len() == 10 && f.as_bytes()[4] == b'-' && f.as_bytes()[7] == b'-';
                    match (is_date, times[i % 3]) {
                        (true, t) if t.starts_with('T') => format!("{f}{t}"),
                        (true, t) => format!("{f} {t}"),
                        _ => f.to_string(),
                    }
                })
                .collect();
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    });
    let meds = std::fs::read_to_string(dir.path().join("medications.csv")).expect("read");
    assert!(meds.contains("T23:59:59Z"), "the edit added times:\n{meds}");
    let (run, out) = scan(dir.path(), &[]);
    assert_e2e_outputs(&run, out.path());
}

#[test]
fn sex_values_outside_the_known_spellings_are_in_no_population_and_counted() {
    // Patients 'unknown' (already in no population) becomes X, and the one written `male`
    // becomes empty: both are then outside every population (§7.12).
    let dir = e2e_with(|t, text| match t {
        "patients" => text.replace(",unknown,", ",X,").replace(",male,", ",,"),
        _ => text,
    });
    let (run, out) = scan(dir.path(), &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let err = stderr(&run);
    assert!(err.contains("warning: 1 patient(s) with sex \"X\", not a known spelling: in no population (INDICATORS.md §7.12)"), "{err}");
    assert!(
        err.contains("warning: 1 patient(s) with sex \"\", not a known spelling"),
        "{err}"
    );
    // The X patient was in no population before either: the counts change only by the patient
    // who was `male`. Unchanged: every output row not about that patient.
    let male = std::fs::read_to_string(repo().join("testdata/e2e/patients.csv"))
        .expect("patients")
        .lines()
        .find(|l| l.contains(",male,"))
        .map(|l| l.split(',').next().expect("id").to_string())
        .expect("a patient written `male`");
    let want_patients: String =
        std::fs::read_to_string(repo().join("testdata/e2e/expected/patients.csv"))
            .expect("expected")
            .lines()
            .filter(|l| l.split(',').nth(1) != Some(male.as_str()))
            .map(|l| format!("{l}\n"))
            .collect();
    let got = std::fs::read_to_string(out.path().join("patients.csv")).expect("patients");
    assert_eq!(
        got, want_patients,
        "the patient with an empty sex is in no denominator"
    );
    // Under --suppress, the count of such patients is shown as every count is.
    let (run, out) = scan(dir.path(), &["--suppress"]);
    assert!(
        stderr(&run).contains("warning: [REDACTED] patient(s) with sex \"X\""),
        "{}",
        stderr(&run)
    );
    let json = std::fs::read_to_string(out.path().join("run.json")).expect("run.json");
    assert!(json.contains("[REDACTED] patient(s) with sex"), "{json}");
    assert!(!json.contains("1 patient(s)"), "{json}");
}

#[test]
fn a_column_with_another_case_or_spaces_is_matched_with_a_note() {
    let dir = e2e_with(|t, text| match t {
        "medications" => text.replacen("dmd_code", "DMD_CODE", 1),
        "clinical_events" => text.replacen("snomedct_code", " snomedct_code ", 1),
        _ => text,
    });
    let (run, out) = scan(dir.path(), &[]);
    assert_e2e_outputs(&run, out.path());
    let err = stderr(&run);
    assert!(
        err.contains("medications.csv: column `DMD_CODE` read as `dmd_code`"),
        "{err}"
    );
    assert!(
        err.contains("clinical_events.csv: column ` snomedct_code ` read as `snomedct_code`"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 2, "{err}");
}

#[test]
fn gzip_and_zstd_extracts_scan_as_the_plain_one() {
    use std::io::Write;
    for ext in ["gz", "zst"] {
        let dir = tempfile::tempdir().expect("tempdir");
        for t in TABLES {
            let text = std::fs::read(repo().join(format!("testdata/e2e/{t}.csv"))).expect("read");
            let path = dir.path().join(format!("{t}.csv.{ext}"));
            let file = std::fs::File::create(&path).expect("create");
            match ext {
                "gz" => {
                    let mut w = flate2::write::GzEncoder::new(file, flate2::Compression::default());
                    w.write_all(&text).expect("gzip");
                    w.finish().expect("gzip");
                }
                _ => {
                    let mut w = zstd::stream::write::Encoder::new(file, 3).expect("zstd");
                    w.write_all(&text).expect("zstd");
                    w.finish().expect("zstd");
                }
            }
        }
        let (run, out) = scan(dir.path(), &[]);
        assert_e2e_outputs(&run, out.path());
        let json = run_json(out.path());
        let inputs = json["inputs"].as_array().expect("inputs");
        assert!(inputs[0]["path"]
            .as_str()
            .expect("path")
            .ends_with(&format!("patients.csv.{ext}")));
        assert_eq!(inputs[2]["rows_read"], 54, "every medication row of e2e");
    }
}

#[test]
fn run_json_records_what_produced_the_results() {
    let (run, out) = scan(
        &repo().join("testdata/e2e"),
        &["--param", "egfr_threshold=45"],
    );
    assert!(run.status.success(), "{}", stderr(&run));
    let json = run_json(out.path());
    assert_eq!(json["rxscan_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["rule_pack"]["source"], "built-in");
    assert_eq!(
        json["rule_pack"]["sha256"].as_str().expect("hash").len(),
        64
    );
    assert_eq!(json["parameters"]["egfr_threshold"], "45");
    assert_eq!(
        json["index_dates"],
        serde_json::json!(["2020-03-01", "2020-04-01"])
    );
    let inputs = json["inputs"].as_array().expect("inputs");
    let tables: Vec<&str> = inputs
        .iter()
        .map(|i| i["table"].as_str().expect("table"))
        .collect();
    assert_eq!(tables, TABLES);
    // testdata/e2e: 29 patients, 32 registrations, 54 medication rows and 24 clinical events
    // (its files' lines less the header). Patients and registrations are kept whole; of the
    // event rows, those whose code is in no codelist of their table (its README: 999999001
    // twice and the SNOMED code 84114007 in medications; 999999002, 999999003 and the dm+d code
    // 329653008 in clinical_events) are never kept, and rows outside every window may not be.
    let counts: Vec<(u64, u64)> = inputs
        .iter()
        .map(|i| {
            (
                i["rows_read"].as_u64().expect("n"),
                i["rows_kept"].as_u64().expect("n"),
            )
        })
        .collect();
    assert_eq!(counts[..2], [(29, 29), (32, 32)]);
    assert_eq!((counts[2].0, counts[3].0), (54, 24));
    assert!(counts[2].1 > 0 && counts[2].1 <= 54 - 3, "{counts:?}");
    assert!(counts[3].1 > 0 && counts[3].1 <= 24 - 3, "{counts:?}");
    assert_eq!(
        inputs[0]["bytes"].as_u64(),
        Some(
            std::fs::metadata(repo().join("testdata/e2e/patients.csv"))
                .expect("size")
                .len()
        )
    );
    // A pack on disk is named by its path; the same files hash the same.
    let (run, out2) = scan(&repo().join("testdata/e2e"), &["--rules", "rules/pincer"]);
    assert!(run.status.success());
    let json2 = run_json(out2.path());
    assert_eq!(json2["rule_pack"]["source"], "rules/pincer");
    assert_eq!(json2["rule_pack"]["sha256"], json["rule_pack"]["sha256"]);
}

fn gzip(path: &Path, text: &[u8]) {
    use std::io::Write;
    let file = std::fs::File::create(path).expect("create");
    let mut w = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    w.write_all(text).expect("gzip");
    w.finish().expect("gzip");
}

#[test]
fn problems_inside_a_compressed_table_are_named_as_in_a_plain_one() {
    // A bad date on line 7 of medications, gzipped: the same message as the plain file's.
    let dir = e2e_with(|t, text| match t {
        "medications" => text
            .lines()
            .enumerate()
            .map(|(i, l)| match i {
                6 => {
                    let (id, rest) = l.split_once(',').expect("fields");
                    let (_, code) = rest.split_once(',').expect("fields");
                    format!("{id},2020-02-30,{code}\n")
                }
                _ => format!("{l}\n"),
            })
            .collect(),
        _ => text,
    });
    let (plain, _out) = scan(dir.path(), &[]);
    assert_eq!(plain.status.code(), Some(2));
    let meds = dir.path().join("medications.csv");
    let text = std::fs::read(&meds).expect("read");
    std::fs::remove_file(&meds).expect("remove");
    gzip(&dir.path().join("medications.csv.gz"), &text);
    let (run, _out) = scan(dir.path(), &[]);
    assert_eq!(run.status.code(), Some(2));
    let (plain_err, err) = (stderr(&plain), stderr(&run));
    assert!(
        err.contains("medications.csv.gz:line 7: column 2 `date`: invalid date: \"2020-02-30\""),
        "{err}"
    );
    assert_eq!(
        err.replace("medications.csv.gz", "medications.csv"),
        plain_err
    );

    // A stream cut short is an error naming the file, not fewer rows.
    let events = dir.path().join("clinical_events.csv");
    let text = std::fs::read(&events).expect("read");
    std::fs::write(&meds, "patient_id,date,dmd_code\n").expect("write");
    std::fs::remove_file(dir.path().join("medications.csv.gz")).expect("remove");
    let whole = dir.path().join("whole.gz");
    gzip(&whole, &text);
    let bytes = std::fs::read(&whole).expect("read");
    std::fs::remove_file(&whole).expect("remove");
    std::fs::write(
        dir.path().join("clinical_events.csv.gz"),
        &bytes[..bytes.len() / 2],
    )
    .expect("write");
    // Both the plain and the compressed copy: which is read is unclear.
    let (run, _out) = scan(dir.path(), &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(
        stderr(&run).contains("the `clinical_events` table is in 2 files (clinical_events.csv, clinical_events.csv.gz); keep one"),
        "{}",
        stderr(&run)
    );
    std::fs::remove_file(&events).expect("remove");
    let (run, out) = scan(dir.path(), &[]);
    assert_eq!(run.status.code(), Some(2), "{}", stderr(&run));
    assert!(
        stderr(&run).contains("clinical_events.csv.gz"),
        "{}",
        stderr(&run)
    );
    assert_eq!(std::fs::read_dir(out.path()).expect("dir").count(), 0);
}
