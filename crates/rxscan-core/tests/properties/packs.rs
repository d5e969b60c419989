//! Random rule packs from the grammar: codelists over a shared code universe, records and
//! definitions, windows written every way the language allows, conditions built from every
//! kind of leaf with `and`/`or`/`not`, measures and nested composites; written as codelist
//! files and rule files.

use std::path::Path;

use proptest::prelude::*;

/// Codes shared by both tables, so a dm+d list and a SNOMED CT list can hold the same string
/// (a medication codelist must still never match a clinical event).
/// Among them: the same number with and without a leading zero, 18 and 19 digits, a letter.
pub const UNIVERSE: [&str; 9] = [
    "101",
    "0101",
    "102",
    "103",
    "104",
    "123456789012345678",
    "1234567890123456789",
    "999999999999999999",
    "A12",
];
const OPS: [&str; 6] = ["==", "!=", "<", "<=", ">", ">="];

fn offset_text(months: i32, days: i32, style: u8) -> String {
    let mut s = "index".to_string();
    if months != 0 {
        let sign = if months < 0 { '-' } else { '+' };
        let m = months.abs();
        if m % 12 == 0 && style % 2 == 1 {
            s += &format!(" {sign} {} years", m / 12);
        } else {
            s += &format!(" {sign} {m} months");
        }
    }
    if days != 0 {
        let sign = if days < 0 { '-' } else { '+' };
        let d = days.abs();
        if d % 7 == 0 && style / 2 % 2 == 1 {
            s += &format!(" {sign} {} weeks", d / 7);
        } else if d == 1 {
            s += &format!(" {sign} 1 day");
        } else {
            s += &format!(" {sign} {d} days");
        }
    }
    s
}

fn offset() -> impl Strategy<Value = (i32, i32)> {
    (
        prop_oneof![3 => prop::sample::select(vec![0, -1, -2, -3, -6, -12, -15]), 1 => -24i32..=2],
        prop_oneof![3 => Just(0), 1 => -40i32..=40],
    )
}

fn rel_date() -> impl Strategy<Value = String> {
    (offset(), any::<u8>()).prop_map(|((m, d), style)| offset_text(m, d, style))
}

pub fn window() -> BoxedStrategy<String> {
    (
        prop::option::weighted(0.8, offset()),
        prop::option::weighted(0.85, offset()),
        any::<u8>(),
    )
        .prop_map(|(a, b, style)| {
            let (a, b) = match (a, b) {
                // Earliest first (months count as ~30.4 days); a near tie may still not compile.
                (Some(x), Some(y))
                    if x.0 as f64 * 30.4 + x.1 as f64 > y.0 as f64 * 30.4 + y.1 as f64 =>
                {
                    (Some(y), Some(x))
                }
                other => other,
            };
            let show = |o: Option<(i32, i32)>| {
                o.map_or("..".to_string(), |(m, d)| offset_text(m, d, style))
            };
            format!("[{}, {}]", show(a), show(b))
        })
        .boxed()
}

fn pick(items: &'static [&'static str]) -> BoxedStrategy<&'static str> {
    prop::sample::select(items).boxed()
}

fn table_and_list() -> BoxedStrategy<(&'static str, &'static str)> {
    prop_oneof![
        pick(&["m0", "m1", "m2"]).prop_map(|l| ("medications", l)),
        pick(&["e0", "e1", "e2"]).prop_map(|l| ("clinical_events", l)),
    ]
    .boxed()
}

fn negated() -> BoxedStrategy<&'static str> {
    pick(&["", "not "])
}

fn list_of(items: &'static [&'static str]) -> BoxedStrategy<String> {
    prop::collection::vec(prop::sample::select(items), 1..=3)
        .prop_map(|v| v.join(", "))
        .boxed()
}

const NUMBERS: [&str; 8] = ["0", "1", "44.99", "45", "thr", "-3", "1000000", "0.5"];
const COMPARATOR_LITERALS: [&str; 7] = [
    "\"\"", "\"<\"", "\"<=\"", "\"~\"", "\">\"", "\">=\"", "\"=\"",
];
const AGE_LITERALS: [&str; 6] = ["17", "18", "65", "75", "120", "121"];
const GAPS: [&str; 7] = [
    "0 days", "1 day", "27 days", "28 days", "gap", "4 weeks", "1 week",
];
const RECORDS: [&str; 4] = ["r0", "r1", "r2", "r3"];
const EVENT_RECORDS: [&str; 3] = ["r0", "r1", "r2"];
static SIMPLE: [&str; 12] = [
    "sex == \"M\"",
    "sex in (\"M\", \"F\")",
    "sex != \"U\"",
    "sex < \"G\"",
    "sex not in (\"I\")",
    "registered",
    "dead",
    "not dead",
    "true",
    "false",
    "age >= 18 and age <= 120",
    "d0",
];

/// A condition with no `and`/`or`; `with_d0` allows the definition `d0`.
fn leaf(with_d0: bool) -> BoxedStrategy<String> {
    let simple: &'static [&'static str] = if with_d0 {
        &SIMPLE
    } else {
        &SIMPLE[..SIMPLE.len() - 1]
    };
    prop_oneof![
        3 => (table_and_list(), window()).prop_map(|((t, l), w)| format!("{t}.has({l}, {w})")),
        2 => (any::<bool>(), pick(&["0", "1", "2"]), pick(&["0", "1", "2"]), pick(&GAPS), window()).prop_map(|(med, a, b, g, w)| {
            let (t, p) = if med { ("medications", "m") } else { ("clinical_events", "e") };
            format!("{t}.within({p}{a}, {p}{b}, {g}, {w})")
        }),
        2 => pick(&RECORDS).prop_map(|r| format!("exists({r})")),
        1 => (pick(&EVENT_RECORDS), pick(&["value", "comparator", "date"])).prop_map(|(r, f)| format!("exists({r}.{f})")),
        1 => (pick(&RECORDS), pick(&OPS), pick(&RECORDS)).prop_map(|(a, op, b)| format!("{a}.date {op} {b}.date")),
        1 => (pick(&RECORDS), pick(&OPS), rel_date()).prop_map(|(a, op, d)| format!("{a}.date {op} {d}")),
        1 => (pick(&RECORDS), rel_date(), pick(&OPS), rel_date()).prop_map(|(a, d, op, e)| format!("coalesce({a}.date, {d}) {op} {e}")),
        2 => (pick(&EVENT_RECORDS), pick(&OPS), pick(&NUMBERS)).prop_map(|(r, op, n)| format!("{r}.value {op} {n}")),
        1 => (pick(&EVENT_RECORDS), pick(&OPS), pick(&NUMBERS)).prop_map(|(r, op, n)| format!("coalesce({r}.value, 0) {op} {n}")),
        1 => (pick(&EVENT_RECORDS), negated(), list_of(&NUMBERS)).prop_map(|(r, not, l)| format!("{r}.value {not}in ({l})")),
        1 => (pick(&EVENT_RECORDS), negated(), list_of(&COMPARATOR_LITERALS)).prop_map(|(r, not, l)| format!("{r}.comparator {not}in ({l})")),
        1 => (pick(&EVENT_RECORDS), pick(&OPS), pick(&COMPARATOR_LITERALS), any::<bool>())
            .prop_map(|(r, op, c, wrap)| if wrap { format!("coalesce({r}.comparator, \"\") {op} {c}") } else { format!("{r}.comparator {op} {c}") }),
        1 => (pick(&OPS), pick(&AGE_LITERALS)).prop_map(|(op, a)| format!("age {op} {a}")),
        1 => (negated(), list_of(&AGE_LITERALS)).prop_map(|(not, l)| format!("age {not}in ({l})")),
        2 => pick(simple).prop_map(str::to_string),
        1 => (pick(&["e0", "e1", "e2"]), window(), pick(&OPS), pick(&NUMBERS)).prop_map(|(l, w, op, n)| format!("clinical_events.latest({l}, {w}).value {op} {n}")),
        1 => (table_and_list(), window(), pick(&OPS), rel_date()).prop_map(|((t, l), w, op, d)| format!("{t}.latest({l}, {w}).date {op} {d}")),
        1 => (table_and_list(), window()).prop_map(|((t, l), w)| format!("exists({t}.latest({l}, {w}))")),
        1 => (table_and_list(), window(), pick(&["==", "!="]), pick(&["dead", "registered", "true", "false"])).prop_map(|((t, l), w, op, b)| format!("({t}.has({l}, {w}) {op} {b})")),
    ]
    .boxed()
}

fn condition(with_d0: bool) -> BoxedStrategy<String> {
    leaf(with_d0)
        .prop_recursive(3, 10, 3, |inner| {
            prop_oneof![
                inner.clone().prop_map(|x| format!("not ({x})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
                // Precedence without parentheses: `not` binds tighter than `and`, `and` than `or`.
                (inner.clone(), inner.clone(), inner)
                    .prop_map(|(a, b, c)| format!("{a} or {b} and not {c}")),
            ]
        })
        .boxed()
}

#[derive(Debug, Clone)]
pub struct Pack {
    /// Three dm+d lists then three SNOMED CT lists, over [`UNIVERSE`]; the flag pads codes
    /// with spaces and repeats one.
    lists: Vec<(Vec<&'static str>, bool)>,
    /// `r0`..`r2` (clinical events) and `r3` (medications): list and window.
    records: Vec<(&'static str, String)>,
    gap: u8,
    thr: &'static str,
    d0: String,
    population: Option<String>,
    measures: Vec<(String, String)>,
    /// Member selectors: `< 100` a measure, otherwise the previous composite.
    composites: Vec<Vec<u8>>,
    /// Write definitions and measures into two files.
    two_files: bool,
}

pub fn pack() -> impl Strategy<Value = Pack> {
    let lists = prop::collection::vec(
        (
            prop::sample::subsequence(UNIVERSE.to_vec(), 1..=4),
            prop::bool::weighted(0.2),
        ),
        6,
    );
    let records = (
        (pick(&["e0", "e1", "e2"]), window()),
        (pick(&["e0", "e1", "e2"]), window()),
        (pick(&["e0", "e1", "e2"]), window()),
        (pick(&["m0", "m1", "m2"]), window()),
    )
        .prop_map(|(a, b, c, d)| vec![a, b, c, d]);
    let measures = prop::collection::vec((condition(true), condition(true)), 1..=3);
    let composites = prop::collection::vec(
        prop::collection::vec(prop_oneof![4 => 0u8..100, 1 => 100u8..=255], 1..=4),
        0..=2,
    );
    (
        lists,
        records,
        prop::sample::select(vec![0u8, 1, 27, 28]),
        pick(&["45", "1", "0"]),
        condition(false),
        prop::option::weighted(0.5, condition(true)),
        measures,
        composites,
        any::<bool>(),
    )
        .prop_map(
            |(lists, records, gap, thr, d0, population, measures, composites, two_files)| Pack {
                lists,
                records,
                gap,
                thr,
                d0,
                population,
                measures,
                composites,
                two_files,
            },
        )
}

impl Pack {
    /// Write the codelists and the rule files into `dir`; return the rule files for
    /// `compile_sources`.
    pub fn write(&self, dir: &Path) -> Vec<(std::path::PathBuf, String)> {
        std::fs::create_dir_all(dir.join("lists")).expect("mkdir");
        // (name, system, file, column as declared, header)
        let decls = [
            ("m0", "dmd", "m0.csv", Some("id"), "id,term"),
            ("m1", "dmd", "m1.csv", None, "term,id"),
            ("m2", "dmd", "lists/m2.csv", Some("dmd_id"), "dmd_id,term"),
            ("e0", "snomedct", "e0.csv", Some("code"), "code,term"),
            ("e1", "snomedct", "e1.csv", None, "code"),
            (
                "e2",
                "snomedct",
                "lists/e2.csv",
                Some("snomed"),
                "term,snomed",
            ),
        ];
        let mut head = String::new();
        for ((name, system, file, column, header), (codes, padded)) in decls.iter().zip(&self.lists)
        {
            let code_first = header.starts_with(|c| c != 't');
            let mut text = format!("{header}\n");
            let mut rows: Vec<&str> = codes.clone();
            if *padded {
                rows.push(codes[0]);
            }
            for c in rows {
                let c = if *padded {
                    format!(" {c} ")
                } else {
                    c.to_string()
                };
                text += &match (header.contains(','), code_first) {
                    (false, _) => format!("{c}\n"),
                    (true, true) => format!("{c},term {c}\n"),
                    (true, false) => format!("term {c},{c}\n"),
                };
            }
            std::fs::write(dir.join(file), text).expect("write codelist");
            head += &match column {
                Some(col) => format!("codelist {name} = {system}(\"{file}\", column: \"{col}\")\n"),
                None => format!("codelist {name} = {system}(\"{file}\")\n"),
            };
        }
        head += &format!("param gap = {} days\nparam thr = {}\n", self.gap, self.thr);
        for (i, (list, w)) in self.records.iter().enumerate() {
            let table = if list.starts_with('m') {
                "medications"
            } else {
                "clinical_events"
            };
            head += &format!("define r{i} = {table}.latest({list}, {w})\n");
        }
        head += &format!("define d0 = {}\n", self.d0);
        let mut body = String::new();
        if let Some(p) = &self.population {
            body += &format!("population = {p}\n");
        }
        for (i, (den, num)) in self.measures.iter().enumerate() {
            body += &format!("measure q{i} {{\n  primis = \"Q{i}\"\n  title = \"q{i}\"\n  doc = \"What it flags Why it matters Definition References\"\n  denominator = {den}\n  numerator = {num}\n}}\n");
        }
        for (i, members) in self.composites.iter().enumerate() {
            let names: Vec<String> = members
                .iter()
                .map(|&m| {
                    if m >= 100 && i > 0 {
                        format!("k{}", i - 1)
                    } else {
                        format!("q{}", m as usize % self.measures.len())
                    }
                })
                .collect();
            body += &format!("composite k{i} = [{}]\n", names.join(", "));
        }
        if self.two_files {
            vec![(dir.join("a.rx"), head), (dir.join("b.rx"), body)]
        } else {
            vec![(dir.join("pack.rx"), head + &body)]
        }
    }
}
