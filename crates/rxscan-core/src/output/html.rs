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

/// Escaped text with each ISO date (`2020-03-01`) and date range (`2019-12-01..2020-03-01`) in a
/// `<span class="date">` that the page does not break across lines (a browser may break after
/// any hyphen: "2019-12-" then "01").
pub fn escape_keeping_dates(s: &str) -> String {
    let text = escape(s);
    let b = text.as_bytes();
    // Dates are ASCII; a multi-byte character never holds an ASCII byte, so byte offsets at
    // a date's ends are character boundaries.
    let is_date = |i: usize| {
        b.len() >= i + 10
            && b[i..i + 10].iter().enumerate().all(|(k, &c)| match k {
                4 | 7 => c == b'-',
                _ => c.is_ascii_digit(),
            })
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i + 10).is_none_or(|c| !c.is_ascii_alphanumeric())
    };
    let mut out = String::with_capacity(text.len());
    let (mut i, mut copied) = (0, 0);
    while i < b.len() {
        if !is_date(i) {
            i += 1;
            continue;
        }
        let mut end = i + 10;
        if b[end..].starts_with(b"..") && is_date(end + 2) {
            end += 12;
        }
        out.push_str(&text[copied..i]);
        out.push_str("<span class=\"date\">");
        out.push_str(&text[i..end]);
        out.push_str("</span>");
        (i, copied) = (end, end);
    }
    out.push_str(&text[copied..]);
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
    use proptest::strategy::Strategy as _;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn dates_and_date_ranges_are_kept_whole() {
        assert_eq!(
            escape_keeping_dates(
                "Age 77; Brufen <x> 2019-12-19; no ppi 2019-12-01..2020-03-01 (last 2018-02-28)"
            ),
            "Age 77; Brufen &lt;x&gt; <span class=\"date\">2019-12-19</span>; no ppi \
             <span class=\"date\">2019-12-01..2020-03-01</span> (last \
             <span class=\"date\">2018-02-28</span>)"
        );
        // At the ends, beside other characters, and not inside longer numbers or codes.
        assert_eq!(
            escape_keeping_dates("2020-03-01"),
            "<span class=\"date\">2020-03-01</span>"
        );
        assert_eq!(
            escape_keeping_dates("é2020-03-01é"),
            "é<span class=\"date\">2020-03-01</span>é"
        );
        for text in [
            "12020-03-01",
            "2020-03-012",
            "x2020-03-01",
            "2020-3-01",
            "2020-03-01..x",
        ] {
            let want =
                escape(text).replace("2020-03-01..x", "<span class=\"date\">2020-03-01</span>..x");
            assert_eq!(escape_keeping_dates(text), want, "{text}");
        }
        assert_eq!(escape_keeping_dates(""), "");
    }

    proptest::proptest! {
        /// Whatever the text, the spans only wrap: without them it is the escaped text, and
        /// each holds a date or a date range (the shape `YYYY-MM-DD`). Texts are made of
        /// dates, range dots, digits, hyphens, letters, markup and a multi-byte character, so
        /// dates, near-dates, ranges and dates glued to other characters are all common.
        #[test]
        fn keeping_dates_only_wraps_dates(text in proptest::collection::vec(
            proptest::sample::select(vec![
                "2020-03-01", "1999-12-31", "..", ".", "-", "7", "a", "é", "<", "&", " ", ";",
            ]),
            0..14,
        ).prop_map(|parts| parts.concat())) {
            let out = escape_keeping_dates(&text);
            let open = "<span class=\"date\">";
            proptest::prop_assert_eq!(out.replace(open, "").replace("</span>", ""), escape(&text));
            for span in out.split(open).skip(1) {
                let inside = span.split("</span>").next().unwrap_or_default();
                let dates: Vec<&str> = inside.split("..").collect();
                proptest::prop_assert!(dates.len() <= 2, "{inside}");
                for d in dates {
                    let shape = d.len() == 10
                        && d.bytes().enumerate().all(|(k, c)| match k {
                            4 | 7 => c == b'-',
                            _ => c.is_ascii_digit(),
                        });
                    proptest::prop_assert!(shape, "{inside}");
                }
            }
        }
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
