//! Code tables: the real PINCER codelists (read from `SynthConfig::codelists`) plus a pool of
//! fake dm+d and SNOMED CT identifiers that appear in no codelist (the "irrelevant" bulk of a
//! real record). Every code is interned once; rows refer to codes by `u32` index.

use crate::Codelists;
use std::collections::{HashMap, HashSet};

use crate::rng::Rng;
use crate::SynthError;

/// Files the generator reads (without the `pincer-` prefix and `.csv` suffix).
pub(crate) const MED_LISTS: [&str; 12] = [
    "nsaid",
    "ppi",
    "anticoag",
    "antiplat",
    "aspirin",
    "non_asp_antiplate",
    "nsbb",
    "acei",
    "diur",
    "met",
    "lith",
    "amio",
];
pub(crate) const CLIN_LISTS: [&str; 12] = [
    "pep", "gi_bleed", "ast", "ast_res", "hf", "egfr", "renal", "electro", "fbc", "lft",
    "lith_lev", "tft",
];

const N_FAKE_MED: usize = 2400;
const N_FAKE_EVENT: usize = 3600;

/// Number of fake event codes reserved as diagnosis codes of conditions outside every codelist.
pub(crate) const N_FAKE_DIAGNOSES: usize = 16;

/// Medication code groups (indices into [`CodeBook`]), made unambiguous: a code picked from one
/// group never also belongs to another PINCER medication list, except the deliberate
/// combination groups.
#[derive(Default)]
pub(crate) struct MedCodes {
    pub nsaid: Vec<u32>,
    /// NSAID + PPI combination products (in both lists).
    pub nsaid_ppi: Vec<u32>,
    pub ppi: Vec<u32>,
    pub oac: Vec<u32>,
    pub aspirin: Vec<u32>,
    pub nonasp: Vec<u32>,
    pub nsbb_eye: Vec<u32>,
    pub nsbb_oral: Vec<u32>,
    pub propranolol: Vec<u32>,
    pub carvedilol: Vec<u32>,
    pub acei: Vec<u32>,
    pub diur: Vec<u32>,
    pub mtx: Vec<u32>,
    pub lith: Vec<u32>,
    pub amio: Vec<u32>,
}

/// Clinical code groups.
#[derive(Default)]
pub(crate) struct ClinCodes {
    pub ast: Vec<u32>,
    pub ast_res: Vec<u32>,
    pub hf: Vec<u32>,
    pub pep: Vec<u32>,
    pub gib: Vec<u32>,
    pub egfr: Vec<u32>,
    /// Renal-function codes that are not eGFR codes (creatinine and similar).
    pub creat: Vec<u32>,
    pub electro: Vec<u32>,
    pub fbc: Vec<u32>,
    pub lft: Vec<u32>,
    pub lith_lev: Vec<u32>,
    pub tft: Vec<u32>,
}

/// How a numeric result of a code looks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ValueSpec {
    /// Typical value (0 = the code carries no value).
    pub mean: f32,
    /// Decimals shown (0, 1 or 2).
    pub decimals: u8,
}

pub(crate) struct CodeBook {
    strs: Vec<String>,
    values: Vec<ValueSpec>,
    pub med: MedCodes,
    pub clin: ClinCodes,
    pub fake_med: Vec<u32>,
    pub fake_event: Vec<u32>,
}

struct Entry {
    code: String,
    term: String,
}

fn read_list(lists: &Codelists, name: &str, column: &str) -> Result<Vec<Entry>, SynthError> {
    let (path, text) = lists.read(&format!("pincer-{name}.csv"))?;
    let bad = |message: String| SynthError::Codelist {
        path: path.clone(),
        message,
    };
    let mut lines = text.lines();
    let header = lines.next().ok_or_else(|| bad("empty file".into()))?;
    let first = header.split(',').next().unwrap_or("").trim();
    if first != column {
        return Err(bad(format!(
            "expected first column `{column}`, found `{first}`"
        )));
    }
    let mut out = Vec::new();
    for (i, line) in lines.enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let (code, term) = line.split_once(',').unwrap_or((line, ""));
        let code = code.trim();
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(format!(
                "line {}: code `{code}` is not all digits",
                i + 2
            )));
        }
        out.push(Entry {
            code: code.to_string(),
            term: term.trim().trim_matches('"').to_ascii_lowercase(),
        });
    }
    if out.is_empty() {
        return Err(bad("no codes".into()));
    }
    Ok(out)
}

/// Verhoeff check digit of a digit string (SNOMED CT and dm+d identifiers end in one).
pub(crate) fn verhoeff_check(digits: &[u8]) -> u8 {
    const D: [[u8; 10]; 10] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
        [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
        [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
        [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
        [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
        [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
        [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
        [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
        [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
    ];
    const P: [[u8; 10]; 8] = [
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
        [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
        [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
        [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
        [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
        [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
        [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
    ];
    const INV: [u8; 10] = [0, 4, 3, 2, 1, 5, 6, 7, 8, 9];
    let mut c = 0u8;
    for (i, &ch) in digits.iter().rev().enumerate() {
        c = D[c as usize][P[(i + 1) % 8][(ch - b'0') as usize] as usize];
    }
    INV[c as usize]
}

/// A SNOMED-style identifier: item id, optional namespace, partition, Verhoeff check digit.
fn snomed_like(item: u64, namespace: Option<u32>, partition: &str) -> String {
    let mut s = item.to_string();
    if let Some(ns) = namespace {
        s.push_str(&ns.to_string());
    }
    s.push_str(partition);
    let c = verhoeff_check(s.as_bytes());
    s.push((b'0' + c) as char);
    s
}

fn value_spec_for(term: &str, code: &str) -> ValueSpec {
    let none = ValueSpec {
        mean: 0.0,
        decimals: 0,
    };
    let finding = [
        "normal",
        "abnormal",
        "raised",
        "below",
        "above",
        "low ",
        "high",
        "finding",
        "record",
        "monitoring",
        "declined",
        "not ",
        "therapy",
    ];
    if finding.iter().any(|w| term.contains(w)) {
        return none;
    }
    let measured = [
        "level",
        "measurement",
        "count",
        "concentration",
        "glomerular",
        "clearance",
        "volume",
        "width",
        "ratio",
        "index",
        "haemoglobin",
        "hematocrit",
        "haematocrit",
    ];
    if !measured.iter().any(|w| term.contains(w)) {
        return none;
    }
    let (mean, decimals) = if term.contains("lithium") {
        (0.7, 2)
    } else if term.contains("sodium") {
        (140.0, 0)
    } else if term.contains("potassium") {
        (4.4, 1)
    } else if term.contains("creatinine") {
        (82.0, 0)
    } else if term.contains("urea") {
        (5.8, 1)
    } else if term.contains("thyroid stimulating") || term.contains("tsh") {
        (2.1, 2)
    } else if term.contains("triiodothyronine") || term.contains("t3") {
        (4.9, 1)
    } else if term.contains("thyroxine") || term.contains("t4") {
        (15.2, 1)
    } else if term.contains("platelet") {
        (255.0, 0)
    } else if term.contains("haemoglobin") && !term.contains("mean") {
        (136.0, 0)
    } else if term.contains("white") || term.contains("leucocyte") || term.contains("neutrophil") {
        (6.4, 1)
    } else if term.contains("lymphocyte") {
        (2.0, 1)
    } else if term.contains("alkaline") {
        (82.0, 0)
    } else if term.contains("alanine") || term.contains("aspartate") || term.contains("gamma") {
        (26.0, 0)
    } else {
        let mut h = code
            .bytes()
            .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(b as u64));
        let r = crate::rng::splitmix64(&mut h);
        (5.0 + (r % 1150) as f32 / 10.0, 1)
    };
    ValueSpec { mean, decimals }
}

impl CodeBook {
    /// Reads the codelists from `dir` and builds the fake pools (which do not depend on the seed).
    pub(crate) fn load(dir: &Codelists) -> Result<Self, SynthError> {
        let mut book = CodeBook {
            strs: Vec::new(),
            values: Vec::new(),
            med: MedCodes::default(),
            clin: ClinCodes::default(),
            fake_med: Vec::new(),
            fake_event: Vec::new(),
        };
        let mut index: HashMap<String, u32> = HashMap::new();
        let mut intern = |book: &mut CodeBook, code: &str, term: &str| -> u32 {
            if let Some(&i) = index.get(code) {
                return i;
            }
            let i = book.strs.len() as u32;
            book.strs.push(code.to_string());
            book.values.push(value_spec_for(term, code));
            index.insert(code.to_string(), i);
            i
        };

        let mut med: HashMap<&str, Vec<(u32, String)>> = HashMap::new();
        for name in MED_LISTS {
            let entries = read_list(dir, name, "id")?;
            let v = entries
                .iter()
                .map(|e| (intern(&mut book, &e.code, ""), e.term.clone()))
                .collect();
            med.insert(name, v);
        }
        let mut clin: HashMap<&str, Vec<u32>> = HashMap::new();
        for name in CLIN_LISTS {
            let entries = read_list(dir, name, "code")?;
            let v = entries
                .iter()
                .map(|e| intern(&mut book, &e.code, &e.term))
                .collect();
            clin.insert(name, v);
        }
        let set = |name: &str| -> HashSet<u32> { med[name].iter().map(|(c, _)| *c).collect() };
        let (ppi, nsaid, aspirin, nsbb, diur) = (
            set("ppi"),
            set("nsaid"),
            set("aspirin"),
            set("nsbb"),
            set("diur"),
        );
        let pick = |name: &str, keep: &dyn Fn(u32, &str) -> bool| -> Vec<u32> {
            let mut seen = HashSet::new();
            med[name]
                .iter()
                .filter(|(c, t)| keep(*c, t) && seen.insert(*c))
                .map(|(c, _)| *c)
                .collect()
        };
        let m = &mut book.med;
        m.nsaid = pick("nsaid", &|c, t| {
            !ppi.contains(&c) && !t.contains("eye drop") && !t.contains("topical")
        });
        m.nsaid_ppi = pick("nsaid", &|c, _| ppi.contains(&c));
        m.ppi = pick("ppi", &|c, _| !nsaid.contains(&c) && !aspirin.contains(&c));
        m.oac = pick("anticoag", &|_, _| true);
        m.aspirin = pick("aspirin", &|c, _| !ppi.contains(&c));
        m.nonasp = pick("non_asp_antiplate", &|_, _| true);
        let eye = |t: &str| t.contains("eye drop") || t.contains("eye gel") || t.contains("ocular");
        m.nsbb_eye = pick("nsbb", &|c, t| eye(t) && !diur.contains(&c));
        m.nsbb_oral = pick("nsbb", &|c, t| !eye(t) && !diur.contains(&c));
        m.propranolol = pick("nsbb", &|c, t| {
            !eye(t) && !diur.contains(&c) && t.contains("propranolol")
        });
        m.carvedilol = pick("nsbb", &|c, t| {
            !eye(t) && !diur.contains(&c) && t.contains("carvedilol")
        });
        m.acei = pick("acei", &|_, _| true);
        m.diur = pick("diur", &|c, t| {
            !nsbb.contains(&c) && !t.contains("degarelix")
        });
        m.mtx = pick("met", &|_, _| true);
        m.lith = pick("lith", &|_, _| true);
        m.amio = pick("amio", &|_, _| true);
        for (g, fallback) in [
            (&mut m.nsbb_eye, "nsbb"),
            (&mut m.nsbb_oral, "nsbb"),
            (&mut m.propranolol, "nsbb"),
            (&mut m.carvedilol, "nsbb"),
            (&mut m.nsaid, "nsaid"),
            (&mut m.ppi, "ppi"),
            (&mut m.aspirin, "aspirin"),
            (&mut m.diur, "diur"),
        ] {
            if g.is_empty() {
                *g = med[fallback].iter().map(|(c, _)| *c).collect();
            }
        }

        let egfr: HashSet<u32> = clin["egfr"].iter().copied().collect();
        let c = &mut book.clin;
        c.ast = clin["ast"].clone();
        c.ast_res = clin["ast_res"].clone();
        c.hf = clin["hf"].clone();
        c.pep = clin["pep"].clone();
        c.gib = clin["gi_bleed"].clone();
        c.egfr = clin["egfr"].clone();
        c.creat = clin["renal"]
            .iter()
            .copied()
            .filter(|x| !egfr.contains(x))
            .collect();
        if c.creat.is_empty() {
            c.creat = clin["renal"].clone();
        }
        c.electro = clin["electro"].clone();
        c.fbc = clin["fbc"].clone();
        c.lft = clin["lft"].clone();
        c.lith_lev = clin["lith_lev"].clone();
        c.tft = clin["tft"].clone();

        // Fake pools, fixed (not seed dependent) so codes mean the same across extracts.
        let mut rng = Rng::new(0x5EED_C0DE, 0);
        let mut taken: HashSet<String> = book.strs.iter().cloned().collect();
        while book.fake_med.len() < N_FAKE_MED {
            let s = if rng.chance(0.4) {
                // International-release VMP-like id, e.g. 317896006.
                snomed_like(300_000 + rng.below(700_000) as u64, None, "00")
            } else {
                // UK dm+d extension AMP/VMP-like id, e.g. 3184811000001101.
                snomed_like(1_000 + rng.below(40_000) as u64, Some(1_000_001), "10")
            };
            if taken.insert(s.clone()) {
                let i = book.strs.len() as u32;
                book.strs.push(s);
                book.values.push(ValueSpec {
                    mean: 0.0,
                    decimals: 0,
                });
                book.fake_med.push(i);
            }
        }
        while book.fake_event.len() < N_FAKE_EVENT {
            let s = if rng.chance(0.6) {
                snomed_like(10_000 + rng.below(9_990_000) as u64, None, "00")
            } else {
                snomed_like(1_000 + rng.below(999_000) as u64, Some(1_000_000), "10")
            };
            if taken.insert(s.clone()) {
                let i = book.strs.len() as u32;
                // About a fifth of the background codes are observations with a value.
                let spec = if book.fake_event.len() >= N_FAKE_DIAGNOSES && rng.chance(0.2) {
                    ValueSpec {
                        mean: (3.0 + rng.f64() * 150.0) as f32,
                        decimals: if rng.chance(0.5) { 0 } else { 1 },
                    }
                } else {
                    ValueSpec {
                        mean: 0.0,
                        decimals: 0,
                    }
                };
                book.strs.push(s);
                book.values.push(spec);
                book.fake_event.push(i);
            }
        }
        Ok(book)
    }

    #[inline]
    pub(crate) fn code(&self, idx: u32) -> &str {
        &self.strs[idx as usize]
    }

    #[inline]
    pub(crate) fn value_spec(&self, idx: u32) -> ValueSpec {
        self.values[idx as usize]
    }

    /// Number of distinct codes interned (real plus fake).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.strs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verhoeff_matches_real_identifiers() {
        // Real SNOMED CT / dm+d identifiers from the codelists end in a valid check digit.
        for id in ["162660004", "1000731000000107", "329923004", "80274001"] {
            let (body, check) = id.split_at(id.len() - 1);
            assert_eq!(
                verhoeff_check(body.as_bytes()),
                check.as_bytes()[0] - b'0',
                "{id}"
            );
        }
    }

    #[test]
    fn fake_codes_are_outside_every_codelist() {
        let dir = Codelists::Dir(crate::tests::codelist_dir());
        let book = CodeBook::load(&dir).unwrap();
        let mut real = HashSet::new();
        for name in MED_LISTS.iter().chain(CLIN_LISTS.iter()) {
            let col = if MED_LISTS.contains(name) {
                "id"
            } else {
                "code"
            };
            for e in read_list(&dir, name, col).unwrap() {
                real.insert(e.code);
            }
        }
        for &i in book.fake_med.iter().chain(book.fake_event.iter()) {
            assert!(!real.contains(book.code(i)));
            assert!(book.code(i).bytes().all(|b| b.is_ascii_digit()));
        }
        assert!(book.len() > real.len() + 5000);
        assert!(!book.med.propranolol.is_empty());
        assert!(!book.med.nsbb_eye.is_empty());
        assert!(!book.med.nsaid_ppi.is_empty());
    }
}
