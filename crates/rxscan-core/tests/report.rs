//! `practices.csv` and `report.html` from hand-made results: the comparison's numbers worked by
//! hand, the page self-contained, one funnel plot per measure, monthly charts only for a
//! series, and every text from rules or data escaped.

use std::path::Path;

use rxscan_core::dates::parse_iso;
use rxscan_core::output::{write_folder, OutputOptions, RenderInput};
use rxscan_core::results::{MeasureInfo, Results, Suppression};

/// Two practices and one measure at each of `dates`, with the same counts at every date:
/// P0 20/100 and P1 10/200 (the total 30/300), practice ids and texts as given.
fn results(dates: &[&str], practices: [&str; 2], title: &str, doc: &str) -> Results {
    let n = dates.len();
    Results {
        index_dates: dates.iter().map(|d| parse_iso(d).unwrap()).collect(),
        practices: practices.iter().map(|p| p.to_string()).collect(),
        measures: vec!["a".into()],
        measure_info: vec![MeasureInfo {
            id: "a".into(),
            primis: "GI_P3A".into(),
            title: title.into(),
            doc: doc.into(),
        }],
        composites: Vec::new(),
        max_members: 0,
        numerators: [20, 10].repeat(n),
        denominators: [100, 200].repeat(n),
        population: [150, 250].repeat(n),
        composite_denominators: Vec::new(),
        composite_histogram: Vec::new(),
        patient_rows: Vec::new(),
        patient_ids: Vec::new(),
    }
}

fn write(r: &Results, s: Suppression) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let input = RenderInput::of(r, s);
    let opts = OutputOptions {
        suppression: s,
        patient_level: false,
    };
    write_folder(dir.path(), &input, &opts, &mut |_| {}).unwrap();
    dir
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn practices_csv_worked_by_hand() {
    // z = 1.959964, z² = 3.841459.
    // P0 20/100: Wilson centre (0.2 + z²/200) / (1 + z²/100) = 0.2192073 / 1.0384146 = 0.2110982,
    //   half z / 1.0384146 × √(0.16/100 + z²/40000) = 1.8874580 × 0.0411830 = 0.0777312
    //   → 13.34 to 28.88. Funnel at n = 100 around 0.1: √(0.09/100) = 0.03, 95% ± 0.0587989
    //   → 4.12 to 15.88, 99.8% ± 0.0927070 → 0.73 to 19.27; 20% is above 19.27: above_99.8.
    // P1 10/200: centre (0.05 + z²/400) / (1 + z²/200) = 0.0596036 / 1.0192073 = 0.0584804,
    //   half 1.9230283 × √(0.0475/200 + z²/160000) = 1.9230283 × 0.0161713 = 0.0310979
    //   → 2.74 to 8.96. Funnel at n = 200: √(0.09/200) = 0.0212132, 95% ± 0.0415771 → 5.84 to
    //   14.16, 99.8% ± 0.0655537 → 3.44 to 16.56 (0.0344463); 5% is below 5.84 but above
    //   3.44: below_95.
    // Total 30/300: centre (0.1 + z²/600) / (1 + z²/300) = 0.1064024 / 1.0128049 = 0.1050572,
    //   half 1.9351852 × √(0.09/300 + z²/360000) = 1.9351852 × 0.0176258 = 0.0341091
    //   → 7.09 to 13.92.
    let r = results(&["2020-03-01"], ["P0", "P1"], "t", "d");
    let dir = write(&r, Suppression::None);
    assert_eq!(
        read(dir.path(), "practices.csv"),
        "index_date,level,practice_pseudo_id,measure,numerator,denominator,rate,rate_low95,rate_high95,total_rate,funnel_low95,funnel_high95,funnel_low998,funnel_high998,funnel\n\
         2020-03-01,practice,P0,a,20,100,20.00,13.34,28.88,10.00,4.12,15.88,0.73,19.27,above_99.8\n\
         2020-03-01,practice,P1,a,10,200,5.00,2.74,8.96,10.00,5.84,14.16,3.44,16.56,below_95\n\
         2020-03-01,total,,a,30,300,10.00,7.09,13.92,10.00,,,,,\n"
    );
}

#[test]
fn under_suppression_the_csv_holds_only_what_the_shown_counts_give() {
    // Shown: P0 20/100, P1 10/200, total 30/300: every count is already a multiple of 5 above
    // 7, so the file is the same as without suppression.
    let r = results(&["2020-03-01"], ["P0", "P1"], "t", "d");
    let (plain, suppressed) = (
        write(&r, Suppression::None),
        write(&r, Suppression::Redact7Round5),
    );
    assert_eq!(
        read(plain.path(), "practices.csv"),
        read(suppressed.path(), "practices.csv")
    );
    // P1 6/200 is redacted: no rate, interval or position; the total 26/300 is shown as
    // 25/300, the funnel's centre 8.33.
    let mut r = r;
    r.numerators[1] = 6;
    let dir = write(&r, Suppression::Redact7Round5);
    let csv = read(dir.path(), "practices.csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[2].starts_with("2020-03-01,practice,P1,a,[REDACTED],200,,,,8.33,"),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with(','), "no position: {}", lines[2]);
    assert!(lines[3].starts_with("2020-03-01,total,,a,25,300,8.33,"));
}

#[test]
fn the_report_is_self_contained_with_one_funnel_plot_per_measure() {
    let r = results(&["2020-03-01"], ["P0", "P1"], "t", "d");
    let html = read(write(&r, Suppression::None).path(), "report.html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("data-chart=\"funnel\"").count(), 1);
    assert_eq!(
        html.matches("data-chart=\"trend\"").count(),
        0,
        "one date: no lines"
    );
    // Nothing to fetch: the only URL is the SVG namespace, which is a name, not a load.
    let without_ns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for needle in [
        "http:", "https:", "<script", "<link", "<img", "src=", "url(", "@import",
    ] {
        assert!(!without_ns.contains(needle), "the report holds {needle}");
    }
    assert!(html.contains("Content-Security-Policy"));
    // The flags, in the table and in the chart's text alternative, as worked above.
    assert!(html.contains("<td class=\"above_99.8\">"));
    assert!(html.contains("<span class=\"sr\">above the 99.8% limit</span>"));
    assert!(html.contains("<td class=\"below_95\">"));
    assert!(
        html.contains("Outside the limits: P0 (above the 99.8% limit); P1 (below the 95% limit).")
    );
    // Charts are labelled images; tables have scoped headers.
    assert!(html.contains("<svg role=\"img\" aria-label=\"Funnel plot for measure a"));
    assert!(html.contains("<title>Funnel plot for measure a"));
    assert!(html.contains("<th scope=\"col\">P0</th>"));
    assert!(html.contains("<th scope=\"row\" data-measure=\"a\">"));
}

#[test]
fn a_series_gets_a_monthly_chart_per_measure() {
    let r = results(
        &["2020-01-01", "2020-02-01", "2020-03-01"],
        ["P0", "P1"],
        "t",
        "d",
    );
    let html = read(write(&r, Suppression::None).path(), "report.html");
    assert_eq!(html.matches("data-chart=\"funnel\"").count(), 1);
    assert_eq!(html.matches("data-chart=\"trend\"").count(), 1);
    assert!(html.contains("href=\"#trends\""));
    // The table shows the last date.
    assert!(html.contains("by practice (columns) at 2020-03-01"));
}

#[test]
fn every_text_from_rules_and_data_is_escaped() {
    let evil = "<script>alert('x')</script>";
    let r = results(
        &["2020-02-01", "2020-03-01"],
        [evil, "\"quoted\" & <marquee>"],
        evil,
        &format!("## What it flags\n{evil}\n- <img src=x onerror=alert(1)>"),
    );
    let dir = write(&r, Suppression::None);
    let html = read(dir.path(), "report.html");
    assert!(!html.contains("<script"), "raw markup from data or rules");
    assert!(!html.contains("<img"), "raw markup from a doc");
    assert!(!html.contains("<marquee"), "raw markup from a practice id");
    assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
    assert!(html.contains("&quot;quoted&quot; &amp; &lt;marquee&gt;"));
    // practices.csv quotes the id that holds a quote.
    let csv = read(dir.path(), "practices.csv");
    assert!(csv.contains(",\"\"\"quoted\"\" & <marquee>\",a,"), "{csv}");
}

#[test]
fn more_practices_than_fit_across_a_page_become_the_rows() {
    let names: Vec<String> = (0..9).map(|p| format!("P{p}")).collect();
    let mut r = results(&["2020-03-01"], ["P0", "P1"], "t", "d");
    r.practices = names;
    r.numerators = [20, 10].repeat(5)[..9].to_vec();
    r.denominators = [100, 200].repeat(5)[..9].to_vec();
    r.population = vec![150; 9];
    let html = read(write(&r, Suppression::None).path(), "report.html");
    assert!(html.contains("<caption>Practices (rows) by measure (columns)"));
    assert!(html.contains("<tr><th scope=\"row\">P8</th>"));
    assert!(html.contains("<tr class=\"total-row\"><th scope=\"row\">All practices</th>"));
    assert_eq!(html.matches("data-measure=\"a\"").count(), 1);
    assert_eq!(html.matches("data-chart=\"funnel\"").count(), 1);
    // One measure: one table, not numbered.
    assert!(html.contains("<caption>Practices (rows) by measure (columns) at 2020-03-01: "));
}

/// With practices as rows, 15 measures are split over ceil(15 / 7) = 3 tables of 5 measures
/// each (balanced), every measure a column of exactly one of them, every table with every
/// practice and the total as rows.
#[test]
fn practices_as_rows_split_the_measures_over_tables_that_fit_a_page() {
    let mut r = results(&["2020-03-01"], ["P0", "P1"], "t", "d");
    let (practices, measures) = (9, 15);
    r.practices = (0..practices).map(|p| format!("P{p}")).collect();
    r.measure_info = (0..measures)
        .map(|m| MeasureInfo {
            id: format!("m{m}"),
            primis: String::new(),
            title: format!("measure {m}"),
            doc: String::new(),
        })
        .collect();
    r.measures = r.measure_info.iter().map(|i| i.id.clone()).collect();
    r.numerators = vec![10; practices * measures];
    r.denominators = vec![100; practices * measures];
    r.population = vec![150; practices];
    let html = read(write(&r, Suppression::None).path(), "report.html");
    let tables: Vec<&str> = html
        .split("<section id=\"practices\"")
        .nth(1)
        .unwrap()
        .split("</section>")
        .next()
        .unwrap()
        .split("<table>")
        .skip(1)
        .collect();
    assert_eq!(tables.len(), 3);
    for (k, table) in tables.iter().enumerate() {
        let (first, last) = (5 * k, 5 * k + 4);
        assert!(table.contains(&format!(
            "<caption>Practices (rows) by measure (columns) at 2020-03-01, measures m{first} to \
             m{last} ({} of 3): ",
            k + 1
        )));
        assert_eq!(table.matches("<th scope=\"col\" data-measure=").count(), 5);
        assert_eq!(table.matches("<tr><th scope=\"row\">P").count(), practices);
        assert_eq!(table.matches("class=\"total-row\"").count(), 1);
    }
    for m in 0..measures {
        assert_eq!(
            html.matches(&format!("data-measure=\"m{m}\"")).count(),
            1,
            "m{m}"
        );
    }
}

#[test]
fn results_without_an_index_date_render_without_panicking() {
    let mut r = results(&[], ["P0", "P1"], "t", "d");
    r.population.clear();
    let dir = write(&r, Suppression::None);
    assert_eq!(
        read(dir.path(), "practices.csv").lines().count(),
        1,
        "the header only"
    );
    let html = read(dir.path(), "report.html");
    assert!(html.contains("no index date"));
    assert_eq!(html.matches("data-chart=").count(), 0);
}
