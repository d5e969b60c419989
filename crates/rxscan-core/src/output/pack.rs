//! What `rxscan check`, `rxscan rules` and `rxscan rule ID` print about a compiled pack.

use crate::plan::Plan;

/// One line: the pack's size, and that it compiled.
pub fn check_summary(pack: &str, plan: &Plan, warnings: usize) -> String {
    format!(
        "{pack}: {} measures, {} composites, {} codelists, {} features; {warnings} warning(s), no errors",
        plan.measures.len(),
        plan.composites.len(),
        plan.codelists.len(),
        plan.features.len()
    )
}

/// The pack in use, then its measures (id, PRIMIS code, title) and composites.
pub fn listing(pack: &str, plan: &Plan) -> String {
    let mut out = format!("pack: {pack}\n{:<10} {:<8} title\n", "id", "primis");
    for m in &plan.measures {
        out += &format!("{:<10} {:<8} {}\n", m.id, m.primis, m.title);
    }
    for c in &plan.composites {
        let members: Vec<&str> = c
            .members
            .iter()
            .map(|&i| plan.measures[i].id.as_str())
            .collect();
        out += &format!(
            "{:<10} {:<8} composite of {}\n",
            c.id,
            "",
            members.join(", ")
        );
    }
    out
}

/// One measure's documentation, or the error text listing the measures there are.
pub fn measure_doc(pack: &str, plan: &Plan, id: &str) -> Result<String, String> {
    match plan.measure(id) {
        Some(m) => Ok(format!(
            "# {} ({}): {}\n\n{}\n\nDefined in {}",
            m.id, m.primis, m.title, m.doc, m.file
        )),
        None => {
            let ids: Vec<&str> = plan.measures.iter().map(|m| m.id.as_str()).collect();
            Err(format!(
                "no measure `{id}` in {pack}; measures: {}",
                ids.join(", ")
            ))
        }
    }
}

/// `rxscan explain ID`: the measure's documentation, then its definition as written with every
/// shared definition it uses expanded below it (in order of first use), then the codelists it
/// reads. Or the error text listing the measures there are.
pub fn explain(pack: &str, plan: &Plan, id: &str) -> Result<String, String> {
    let doc = measure_doc(pack, plan, id)?;
    let m = plan.measure(id).expect("measure_doc found it");
    let names = crate::evidence::Names::new(plan);
    let numerator = match &m.numerator {
        crate::plan::Expr::And(v) if v.first() == Some(&m.denominator) => match &v[1..] {
            [one] => one.clone(),
            rest => crate::plan::Expr::And(rest.to_vec()),
        },
        other => other.clone(),
    };
    let mut out = format!(
        "{doc}\n\n## Rule\n\ndenominator = {}\nnumerator = {}\n(the numerator is counted only where the denominator holds)\n",
        names.text(&m.denominator),
        names.text(&numerator)
    );
    let both = crate::plan::Expr::And(vec![m.denominator.clone(), numerator]);
    let (defs, lists) = names.used(&both);
    if !defs.is_empty() {
        out += "\n## Shared definitions it uses\n\n";
        for (name, body) in defs {
            out += &format!("{name} = {body}\n");
        }
    }
    if !lists.is_empty() {
        out += "\n## Codelists\n\n";
        for c in lists {
            let list = &plan.codelists[c];
            let column = match list.table {
                crate::plan::Table::Medications => "medications.dmd_code",
                crate::plan::Table::ClinicalEvents => "clinical_events.snomedct_code",
            };
            out += &format!(
                "{}: {} codes matched against {column} (from {})\n",
                list.name,
                list.codes.len(),
                list.path
            );
        }
    }
    if !plan.params.is_empty() {
        out += "\n## Parameters of the pack (values in force)\n\n";
        for (k, v) in &plan.params {
            out += &format!("{k} = {v}\n");
        }
    }
    Ok(out)
}
