//! A Markdown table with aligned columns: readable on a terminal and
//! pasteable into the README as is.

/// Columns of numbers are right-aligned, the others left-aligned.
pub struct Table {
    title: String,
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    notes: Vec<String>,
}

impl Table {
    pub fn new(title: &str, header: &[&str]) -> Table {
        Table {
            title: title.to_string(),
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// A line printed under the table.
    pub fn note(&mut self, text: impl Into<String>) {
        self.notes.push(text.into());
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(c.chars().count());
            }
        }
        // A column is numeric when every non-empty cell starts with a digit.
        let numeric: Vec<bool> = (0..n)
            .map(|i| {
                i > 0
                    && self.rows.iter().all(|r| {
                        r.get(i)
                            .and_then(|c| c.chars().next())
                            .is_none_or(|c| c.is_ascii_digit() || c == '–')
                    })
            })
            .collect();
        let line = |cells: &[String]| {
            let mut s = String::from("|");
            for (i, w) in widths.iter().enumerate() {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(c.chars().count());
                if !numeric[i] {
                    s.push_str(&format!(" {c}{} |", " ".repeat(pad)));
                } else {
                    s.push_str(&format!(" {}{c} |", " ".repeat(pad)));
                }
            }
            s
        };
        let mut out = format!("## {}\n\n", self.title);
        out.push_str(&line(&self.header));
        out.push('\n');
        let mut rule = String::from("|");
        for (i, w) in widths.iter().enumerate() {
            if !numeric[i] {
                rule.push_str(&format!(" {} |", "-".repeat(*w)));
            } else {
                rule.push_str(&format!(" {}: |", "-".repeat(w.saturating_sub(1))));
            }
        }
        out.push_str(&rule);
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for n in &self.notes {
                out.push_str(n);
                out.push('\n');
            }
        }
        out
    }

    /// Prints the table and a blank line.
    pub fn print(&self) {
        println!("{}", self.render());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn given_rows_then_columns_align_and_the_rule_right_aligns_numbers() {
        let mut t = Table::new("t", &["name", "n", "word"]);
        t.row(vec!["a".into(), "1000".into(), "yes".into()]);
        t.note("a note");
        let s = t.render();
        assert_eq!(
            s,
            "## t\n\n| name |    n | word |\n| ---- | ---: | ---- |\n| a    | 1000 | yes  |\n\na note\n"
        );
    }
}
