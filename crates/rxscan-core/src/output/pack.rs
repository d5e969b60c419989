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
