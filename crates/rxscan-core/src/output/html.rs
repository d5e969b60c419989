//! HTML helpers for the report: escaping (every text that comes from rules or data goes
//! through [`escape`]) and the small Markdown subset measure docs are written in (`## `
//! headings, paragraphs, `- ` lists, `` `code` ``), rendered without trusting any of it.

/// Text safe inside an element or a quoted attribute.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaped text with `` `code` `` spans as `<code>`.
fn inline(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('`').enumerate() {
        if i % 2 == 1 {
            out += &format!("<code>{}</code>", escape(part));
        } else {
            out += &escape(part);
        }
    }
    out
}

/// A measure's documentation as HTML: `## ` headings become `<h{level}>`, blank lines end
/// paragraphs, lines starting `- ` or `* ` are list items (an indented line after one
/// continues it).
pub fn doc(text: &str, level: u8) -> String {
    let mut out = String::new();
    let mut para: Vec<&str> = Vec::new();
    let mut list: Vec<String> = Vec::new();
    let flush_para = |out: &mut String, para: &mut Vec<&str>| {
        if !para.is_empty() {
            *out += &format!("<p>{}</p>\n", inline(&para.join(" ")));
            para.clear();
        }
    };
    let flush_list = |out: &mut String, list: &mut Vec<String>| {
        if !list.is_empty() {
            *out += "<ul>\n";
            for item in list.iter() {
                *out += &format!("<li>{}</li>\n", inline(item));
            }
            *out += "</ul>\n";
            list.clear();
        }
    };
    for line in text.lines().map(str::trim) {
        if let Some(h) = line.strip_prefix("## ") {
            flush_para(&mut out, &mut para);
            flush_list(&mut out, &mut list);
            out += &format!("<h{level}>{}</h{level}>\n", inline(h.trim()));
        } else if let Some(item) = line.strip_prefix("- ").or_else(|| line.strip_prefix("* ")) {
            flush_para(&mut out, &mut para);
            list.push(item.to_string());
        } else if line.is_empty() {
            flush_para(&mut out, &mut para);
            flush_list(&mut out, &mut list);
        } else if let Some(last) = list.last_mut() {
            *last += " ";
            *last += line;
        } else {
            para.push(line);
        }
    }
    flush_para(&mut out, &mut para);
    flush_list(&mut out, &mut list);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn docs_become_headings_paragraphs_and_lists() {
        let text = "
            ## What it flags
            Patients aged <65 with
            `x` & y.

            ## Definition
            - one
            - two
        ";
        assert_eq!(
            doc(text, 4),
            "<h4>What it flags</h4>\n<p>Patients aged &lt;65 with <code>x</code> &amp; y.</p>\n\
             <h4>Definition</h4>\n<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n"
        );
    }
}
