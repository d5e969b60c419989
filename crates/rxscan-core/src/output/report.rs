//! `report.html`: the scan as one self-contained page a PCN lead opens, prints or shares. No
//! script, no network, no external fonts or images (a Content-Security-Policy forbids any
//! load, so a browser says so if one ever creeps in), CSS inline with a print style; charts
//! are inline SVG from `charts.rs`.
//!
//! The page is a list of sections ([`SECTIONS`]), each one function from the scan to its
//! HTML, or to nothing when it has nothing to say (the monthly lines with one index date). A
//! new section is one function and one entry. Every number shown is a shown number: counts
//! and rates through [`Suppression::ratio`], intervals and funnel positions from
//! [`Comparison`] (computed from the shown counts); each count sits in a
//! `<span class="count">`, so a test can find every one.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::charts::{self, FunnelPoint, Line};
use super::html::{self, escape};
use super::RenderInput;
use crate::dates;
use crate::results::compare::{percent, Cell, Comparison, Position};
use crate::results::{Results, Suppression};

/// What every section reads.
struct Page<'a> {
    input: &'a RenderInput<'a>,
    comparison: Comparison,
    /// The index date the table and funnel plots show: the last scanned.
    last: usize,
}

impl Page<'_> {
    fn results(&self) -> &Results {
        self.input.results
    }
}

/// Up to this many practices are columns of the table; more are its rows.
const MAX_PRACTICE_COLUMNS: usize = 8;

/// With practices as rows, at most this many measures are the columns of one table, so that
/// each table fits the width of an A4 page between its 14 mm margins (688 px) when printed
/// (8 pt): PINCER's 14 measures over 20 practices print as tables of 608 and 643 px.
const MAX_MEASURE_COLUMNS: usize = 7;

/// One section of the page: an anchor, a heading, and its body (`None` leaves it out).
struct Section {
    id: &'static str,
    title: &'static str,
    body: fn(&Page) -> io::Result<Option<String>>,
}

/// The page's sections, in order.
const SECTIONS: &[Section] = &[
    Section {
        id: "practices",
        title: "Practices and measures",
        body: table,
    },
    Section {
        id: "funnels",
        title: "Funnel plots",
        body: funnels,
    },
    Section {
        id: "trends",
        title: "Monthly rates",
        body: trends,
    },
    Section {
        id: "actions",
        title: "Action lists",
        body: action_lists,
    },
    Section {
        id: "measures",
        title: "The measures",
        body: measure_docs,
    },
];

const STYLE: &str = r#"
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
  margin: 0 auto; max-width: 78rem; padding: 1rem 1.5rem 3rem; color: #1a1a1a; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: .2rem; }
h2 { border-bottom: 2px solid #ddd; padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { margin-bottom: .3rem; }
nav ul { display: flex; flex-wrap: wrap; gap: .3rem 1.2rem; padding: 0; list-style: none; }
.facts { color: #444; }
.notice { background: #fff6d6; border-left: 4px solid #e0b000; padding: .5rem .8rem; }
.scroll { overflow-x: auto; position: relative; }
.scroll + .scroll { margin-top: 1.5rem; }
table { border-collapse: collapse; font-size: .9rem; }
caption { text-align: left; padding-bottom: .4rem; }
th, td { border: 1px solid #d0d0d0; padding: .3rem .5rem; vertical-align: top; }
thead th { background: #f3f3f3; }
th[scope=row] { text-align: left; font-weight: normal; max-width: 18rem; }
th[scope=row] b { display: block; }
td { text-align: right; white-space: nowrap; }
td .rate { font-weight: 600; }
table.actions td { text-align: left; white-space: normal; }
table.actions td:nth-child(2) { text-align: right; }
.date { white-space: nowrap; }
td small { color: #555; }
.above_99\.8 { background: #f6c6c6; } .above_95 { background: #fbe3d6; }
.below_95 { background: #dcebf5; } .below_99\.8 { background: #b9d5ec; }
.total { border-left: 3px solid #888; }
tr.total-row > * { border-top: 3px solid #888; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(26rem, 1fr)); gap: 1.2rem; }
figure { margin: 0; border: 1px solid #e3e3e3; padding: .5rem; break-inside: avoid; }
figcaption { font-size: .9em; color: #333; }
svg.chart { width: 100%; height: auto; display: block; }
.doc { border-top: 1px solid #eee; margin-top: 1rem; }
.doc h4 { margin: .8rem 0 .2rem; }
code { font-size: .95em; background: #f4f4f4; padding: 0 .2em; }
@page { margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 10pt; }
  nav { display: none; }
  h2 { break-before: page; } section:first-of-type h2 { break-before: auto; }
  .scroll { overflow: visible; }
  table { font-size: 8pt; }
  .charts { grid-template-columns: 1fr 1fr; }
  a { color: inherit; text-decoration: none; }
  td, th, .notice, .above_99\.8, .above_95, .below_95, .below_99\.8 {
    -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"#;

/// Write the page.
pub fn write(input: &RenderInput, w: &mut dyn Write) -> io::Result<()> {
    let r = input.results;
    let page = Page {
        input,
        comparison: Comparison::of(r, input.suppression),
        last: r.index_dates.len().saturating_sub(1),
    };
    let mut body = String::new();
    let mut contents = String::new();
    for section in SECTIONS {
        if let Some(html) = (section.body)(&page)? {
            let (id, title) = (section.id, section.title);
            let _ = writeln!(contents, "<li><a href=\"#{id}\">{title}</a></li>");
            let _ = writeln!(
                body,
                "<section id=\"{id}\" aria-labelledby=\"{id}-h\">\n<h2 id=\"{id}-h\">{title}</h2>\n{html}</section>"
            );
        }
    }
    write!(
        w,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>rxscan report: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header>\n<h1>Prescribing-safety report</h1>\n{}</header>\n\
         <nav aria-label=\"Contents\"><ul>\n{contents}</ul></nav>\n<main>\n{body}</main>\n</body>\n</html>\n",
        escape(&dates_scanned(r)),
        intro(&page),
    )
}

fn date(r: &Results, d: usize) -> String {
    dates::format_iso(r.index_dates[d])
}

fn dates_scanned(r: &Results) -> String {
    match r.index_dates.len() {
        0 => "no index date".into(),
        1 => date(r, 0),
        n => format!("{} to {}", date(r, 0), date(r, n - 1)),
    }
}

/// What was scanned, the suppression in force, and how to read the page.
fn intro(page: &Page) -> String {
    let r = page.results();
    let listed = (0..r.practices.len())
        .filter(|&p| (0..r.index_dates.len()).any(|d| r.practice_listed(d, p)))
        .count();
    let mut out = format!(
        "<p class=\"facts\">Index date{}: {} &middot; practices: {listed} &middot; measures: {}</p>\n",
        if r.index_dates.len() == 1 { "" } else { "s" },
        escape(&dates_scanned(r)),
        r.measures.len()
    );
    if page.input.suppression != Suppression::None {
        out +=
            "<p class=\"notice\"><strong>Small numbers suppressed.</strong> Counts of 7 or fewer \
                are shown as [REDACTED] and every other count is rounded to the nearest 5; rates, \
                intervals and funnel positions are computed from the counts as shown.</p>\n";
    }
    out += "<p>Each practice's rate is compared with the total over all practices in the scan. \
            A funnel plot shows each practice's rate against its denominator, with the limits \
            within which 95% and 99.8% of practices would fall by chance alone if every practice \
            had the total's rate (normal approximation to the binomial). A practice outside the \
            limits is flagged: &#9650;&#9650; above the 99.8% limit, &#9650; above the 95% limit, \
            &#9660; below the 95% limit, &#9660;&#9660; below the 99.8% limit. Intervals beside \
            rates are Wilson 95% intervals.</p>\n";
    out
}

fn flag(position: Option<Position>) -> &'static str {
    match position {
        Some(Position::Above998) => "&#9650;&#9650;",
        Some(Position::Above95) => "&#9650;",
        Some(Position::Below95) => "&#9660;",
        Some(Position::Below998) => "&#9660;&#9660;",
        _ => "",
    }
}

/// One table cell: rate, flag, interval, and the counts.
fn cell_html(c: Option<&Cell>, total: bool) -> String {
    let classes: Vec<&str> = [
        c.and_then(|c| c.position).map(Position::as_str),
        total.then_some("total"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let td = if classes.is_empty() {
        "<td>".to_string()
    } else {
        format!("<td class=\"{}\">", classes.join(" "))
    };
    let Some(c) = c else {
        return format!("{td}&ndash; <span class=\"sr\">no patients at this date</span></td>");
    };
    let rate = match &c.shown.rate {
        Some(rate) if !rate.is_empty() => format!("<span class=\"rate\">{rate}%</span>"),
        _ => "<span class=\"rate\">&ndash;</span>".into(),
    };
    let mut out = format!("{td}{rate}");
    if let Some(p) = c.position.filter(|&p| p != Position::Inside) {
        let _ = write!(
            out,
            " <span aria-hidden=\"true\" title=\"{0}\">{1}</span><span class=\"sr\">{0}</span>",
            p.describe(),
            flag(Some(p))
        );
    }
    if let Some(i) = c.wilson {
        let _ = write!(
            out,
            "<br><small>({}&ndash;{})</small>",
            percent(i.low),
            percent(i.high)
        );
    }
    let _ = write!(
        out,
        "<br><small><span class=\"count\">{}</span> / <span class=\"count\">{}</span></small></td>",
        c.shown.numerator_text(),
        c.shown.denominator_text()
    );
    out
}

/// Measures × practices at the last index date, with the total: measures as rows for a PCN's
/// handful of practices, practices as rows when there are more than fit across a page (then
/// the measures are split over tables of at most [`MAX_MEASURE_COLUMNS`] columns, so that each
/// fits the width of a printed page).
fn table(page: &Page) -> io::Result<Option<String>> {
    let r = page.results();
    let d = page.last;
    if r.index_dates.is_empty() {
        return Ok(None);
    }
    let practices: Vec<usize> = (0..r.practices.len())
        .filter(|&p| r.practice_listed(d, p))
        .collect();
    let caption = |rows: &str, part: &str| {
        format!(
            "<div class=\"scroll\"><table>\n<caption>{rows} at {}{part}: in each cell the rate, \
             its Wilson 95% interval, then the numerator and the denominator.</caption>\n",
            date(r, d)
        )
    };
    if practices.len() <= MAX_PRACTICE_COLUMNS {
        let mut out = caption("Measures (rows) by practice (columns)", "");
        out += "<thead><tr><th scope=\"col\">Measure</th>";
        for &p in &practices {
            let _ = write!(out, "<th scope=\"col\">{}</th>", escape(&r.practices[p]));
        }
        out += "<th scope=\"col\" class=\"total\">All practices</th></tr></thead>\n<tbody>\n";
        for (m, info) in r.measure_info.iter().enumerate() {
            let _ = write!(
                out,
                "<tr><th scope=\"row\" data-measure=\"{}\">{}{}</th>",
                escape(&info.id),
                measure_head(info),
                escape(&info.title)
            );
            for &p in &practices {
                out += &cell_html(page.comparison.cell(d, Some(p), m), false);
            }
            out += &cell_html(page.comparison.cell(d, None, m), true);
            out += "</tr>\n";
        }
        out += "</tbody></table></div>\n";
        return Ok(Some(out));
    }
    let n = r.measure_info.len();
    let parts = n.div_ceil(MAX_MEASURE_COLUMNS).max(1);
    let mut out = String::new();
    for k in 0..parts {
        // Balanced: the tables' numbers of measures differ by at most one.
        let measures = (k * n / parts)..((k + 1) * n / parts);
        let part = match parts {
            1 => String::new(),
            _ => format!(
                ", measures {} to {} ({} of {parts})",
                escape(&r.measure_info[measures.start].id),
                escape(&r.measure_info[measures.end - 1].id),
                k + 1
            ),
        };
        out += &caption("Practices (rows) by measure (columns)", &part);
        out += "<thead><tr><th scope=\"col\">Practice</th>";
        for info in &r.measure_info[measures.clone()] {
            let _ = write!(
                out,
                "<th scope=\"col\" data-measure=\"{}\">{}</th>",
                escape(&info.id),
                measure_head(info)
            );
        }
        out += "</tr></thead>\n<tbody>\n";
        for p in practices.iter().map(|&p| Some(p)).chain([None]) {
            let (class, name) = match p {
                Some(p) => ("", escape(&r.practices[p])),
                None => (" class=\"total-row\"", "All practices".to_string()),
            };
            let _ = write!(out, "<tr{class}><th scope=\"row\">{name}</th>");
            for m in measures.clone() {
                out += &cell_html(page.comparison.cell(d, p, m), false);
            }
            out += "</tr>\n";
        }
        out += "</tbody></table></div>\n";
    }
    Ok(Some(out))
}

/// A measure's id, linked to its documentation, its title on hover.
fn measure_head(info: &crate::results::MeasureInfo) -> String {
    format!(
        "<b><a href=\"#measure-{0}\" title=\"{1}\">{0}</a></b>",
        escape(&info.id),
        escape(&info.title)
    )
}

/// One funnel plot per measure at the last index date.
fn funnels(page: &Page) -> io::Result<Option<String>> {
    let r = page.results();
    let d = page.last;
    if r.index_dates.is_empty() {
        return Ok(None);
    }
    let mut out = format!(
        "<p>At {}. Each dot is a practice (rate against denominator); the black line is the \
         total's rate, dashed lines its 95% limits, solid grey lines its 99.8% limits.</p>\n\
         <div class=\"charts\">\n",
        date(r, d)
    );
    for (m, info) in r.measure_info.iter().enumerate() {
        let mut points = Vec::new();
        let mut outside = Vec::new();
        for p in 0..r.practices.len() {
            let Some(c) = page.comparison.cell(d, Some(p), m) else {
                continue;
            };
            if let (Some((_, den)), Some(rate)) = (c.counts(), c.proportion()) {
                points.push(FunnelPoint {
                    label: r.practices[p].clone(),
                    den,
                    rate,
                    position: c.position,
                });
            }
            if let Some(pos) = c.position.filter(|&p| p != Position::Inside) {
                outside.push(format!("{} ({})", r.practices[p], pos.describe()));
            }
        }
        let p0 = page.comparison.cell(d, None, m).and_then(Cell::proportion);
        let label = format!(
            "Funnel plot for measure {}: {}, at {}. {}",
            info.id,
            info.title,
            date(r, d),
            if outside.is_empty() {
                "No practice is outside the limits.".to_string()
            } else {
                format!("Outside the limits: {}.", outside.join("; "))
            }
        );
        let svg = charts::funnel(&points, p0, &label)?;
        let note = if p0.is_none() {
            " No limits: the total is not shown."
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<figure>\n{svg}<figcaption><b>{}</b>: {}.{}</figcaption>\n</figure>",
            escape(&info.id),
            escape(&info.title),
            note
        );
    }
    out += "</div>\n";
    Ok(Some(out))
}

/// Each measure's rate by month, one line per practice and the total; only for a series.
fn trends(page: &Page) -> io::Result<Option<String>> {
    let r = page.results();
    let n = r.index_dates.len();
    if n < 2 {
        return Ok(None);
    }
    let labels: Vec<String> = (0..n).map(|d| date(r, d)[..7].to_string()).collect();
    let mut out = String::from(
        "<p>Each practice's rate at every index date scanned, and the total's (black). A gap \
         is a rate not shown.</p>\n<div class=\"charts\">\n",
    );
    for (m, info) in r.measure_info.iter().enumerate() {
        let rate =
            |d: usize, p: Option<usize>| page.comparison.cell(d, p, m).and_then(Cell::proportion);
        let mut lines: Vec<Line> = (0..r.practices.len())
            .filter(|&p| (0..n).any(|d| r.practice_listed(d, p)))
            .map(|p| Line {
                label: r.practices[p].clone(),
                rates: (0..n).map(|d| rate(d, Some(p))).collect(),
            })
            .collect();
        lines.push(Line {
            label: "All practices".into(),
            rates: (0..n).map(|d| rate(d, None)).collect(),
        });
        let label = format!(
            "Monthly rate of measure {} ({}) from {} to {}, one line per practice and one for all practices",
            info.id,
            info.title,
            date(r, 0),
            date(r, n - 1)
        );
        let svg = charts::trend(&labels, &lines, &label)?;
        let _ = writeln!(
            out,
            "<figure>\n{svg}<figcaption><b>{}</b>: {}.</figcaption>\n</figure>",
            escape(&info.id),
            escape(&info.title)
        );
    }
    out += "</div>\n";
    Ok(Some(out))
}

/// Each practice's action list at the last index date (as `action_lists/` holds them): only
/// when the scan traced its flagged patients, which it never does under suppression (and
/// never shown under suppression regardless).
fn action_lists(page: &Page) -> io::Result<Option<String>> {
    let input = page.input;
    if input.suppression != Suppression::None || input.evidence.is_none() {
        return Ok(None);
    }
    let r = page.results();
    let lists = super::action_lists::by_practice(r, input.evidence);
    let mut out = format!(
        "<p>Patients to review at {}, per practice, each with the reason the rule flagged \
         them (the evidence behind each is in <code>evidence.jsonl</code>; <code>rxscan why</code> \
         shows it for any patient).</p>\n",
        escape(&date(r, page.last))
    );
    if lists.is_empty() {
        out += "<p>No patient is flagged.</p>\n";
    }
    for (practice, rows) in &lists {
        let _ = write!(
            out,
            "<h3>Practice {0}</h3>\n<table class=\"actions\">\n<caption>Practice {0}: {1} \
             flagged patient-measure(s)</caption>\n<thead><tr><th scope=\"col\">Measure</th>\
             <th scope=\"col\">Patient</th><th scope=\"col\">Reason</th></tr></thead>\n<tbody>\n",
            escape(practice),
            rows.len()
        );
        for a in rows {
            let info = &r.measure_info[a.measure];
            let _ = writeln!(
                out,
                "<tr><td><a href=\"#measure-{0}\">{0}</a> {1}</td><td>{2}</td><td>{3}</td></tr>",
                escape(&info.id),
                escape(&info.title),
                a.patient_id,
                html::escape_keeping_dates(&a.reason)
            );
        }
        out += "</tbody>\n</table>\n";
    }
    Ok(Some(out))
}

/// Each measure's documentation, as written in its rule.
fn measure_docs(page: &Page) -> io::Result<Option<String>> {
    let mut out = String::new();
    for info in &page.results().measure_info {
        let _ = write!(
            out,
            "<article class=\"doc\" id=\"measure-{0}\">\n<h3>{0} ({1}): {2}</h3>\n{3}</article>\n",
            escape(&info.id),
            escape(&info.primis),
            escape(&info.title),
            html::doc(&info.doc, 4)
        );
    }
    Ok(Some(out))
}
