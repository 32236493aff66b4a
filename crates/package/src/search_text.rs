//! A package's `/search` entry, printed once in the pieces queries put together.
//!
//! A `/search` response is an array of entries, so an entry is always printed at the
//! indentation of an array item (level 1), its fields at level 2 and the items of its
//! `policy_templates` at level 3. Printing each piece once, at that place, means a
//! query only copies text: the fields around `policy_templates` and `deprecated` (which
//! a query can change: a category filter keeps some templates, a newer version's
//! deprecation shows on every version), and each template.
//!
//! It is also how a catalog keeps a package: the text of a 1.5 KB entry takes about a
//! fifth of the memory of the JSON tree it was printed from, which at 10,000 versions
//! is the difference between tens and hundreds of MB.

use crate::json::{Json, write_string};

/// Indentation of a field of an entry.
const FIELD: &str = "\n    ";
/// Indentation of an item of an entry's array field.
const ITEM: &str = "\n      ";

/// The pieces of one entry, each a run of `"key": value` fields printed at field
/// level and joined by `,` and a new line; empty when there is no such field.
#[derive(Debug, Clone, Default)]
pub(crate) struct SearchText {
    /// From `name` to `policy_templates_behavior`.
    head: String,
    /// From `conditions` to `data_streams`.
    middle: String,
    /// After `deprecated`: `requires`, `group`.
    tail: String,
}

impl SearchText {
    /// Prints the pieces from the fields of the entry's three runs.
    pub(crate) fn new(
        head: &[(String, Json)],
        middle: &[(String, Json)],
        tail: &[(String, Json)],
    ) -> SearchText {
        SearchText {
            head: fields(head),
            middle: fields(middle),
            tail: fields(tail),
        }
    }

    /// The entry with these policy templates (each [`template_text`]) and this
    /// `deprecated`, as `Json::write_indented` prints the whole object at level 1.
    pub(crate) fn write(&self, out: &mut String, templates: &[&str], deprecated: Option<&Json>) {
        let mut first = true;
        let mut field = |out: &mut String, text: &str| {
            if text.is_empty() {
                return;
            }
            out.push_str(if first { "" } else { "," });
            out.push_str(FIELD);
            out.push_str(text);
            first = false;
        };
        out.push('{');
        field(out, &self.head);
        if !templates.is_empty() {
            let mut list = String::from("\"policy_templates\": [");
            for (i, template) in templates.iter().enumerate() {
                list.push_str(if i == 0 { "" } else { "," });
                list.push_str(ITEM);
                list.push_str(template);
            }
            list.push_str(FIELD);
            list.push(']');
            field(out, &list);
        }
        field(out, &self.middle);
        if let Some(deprecated) = deprecated {
            field(
                out,
                &fields(&[("deprecated".to_string(), deprecated.clone())]),
            );
        }
        field(out, &self.tail);
        out.push_str("\n  }");
    }
}

/// A policy template of an entry, printed where [`SearchText::write`] puts it.
pub(crate) fn template_text(template: &Json) -> String {
    let mut out = String::new();
    template.write_indented(&mut out, 3);
    out
}

/// `"key": value` of each field at field level, joined.
fn fields(entries: &[(String, Json)]) -> String {
    let mut out = String::new();
    for (i, (key, value)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(',');
            out.push_str(FIELD);
        }
        write_string(&mut out, key);
        out.push_str(": ");
        value.write_indented(&mut out, 2);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(entries: &[(&str, Json)]) -> Vec<(String, Json)> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    /// The pieces give what printing the whole object gives.
    #[test]
    fn prints_as_the_whole_object() {
        let head = obj(&[
            ("name", Json::str("a")),
            (
                "icons",
                Json::Arr(vec![Json::Obj(obj(&[("src", Json::str("/x"))]))]),
            ),
        ]);
        let middle = obj(&[("categories", Json::strings(&["x", "y"]))]);
        let tail = obj(&[("group", Json::str("g"))]);
        let template = Json::Obj(obj(&[
            ("name", Json::str("t")),
            ("categories", Json::strings(&["x"])),
        ]));
        let deprecated = Json::Obj(obj(&[("description", Json::str("old"))]));
        let text = SearchText::new(&head, &middle, &tail);
        for (templates, dep) in [
            (vec![template.clone()], Some(&deprecated)),
            (vec![template.clone(), template.clone()], None),
            (vec![], Some(&deprecated)),
            (vec![], None),
        ] {
            let mut whole = head.clone();
            if !templates.is_empty() {
                whole.push(("policy_templates".into(), Json::Arr(templates.clone())));
            }
            whole.extend(middle.clone());
            if let Some(d) = dep {
                whole.push(("deprecated".into(), d.clone()));
            }
            whole.extend(tail.clone());
            let mut want = String::new();
            Json::Obj(whole).write_indented(&mut want, 1);
            let texts: Vec<String> = templates.iter().map(template_text).collect();
            let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
            let mut got = String::new();
            text.write(&mut got, &refs, dep);
            assert_eq!(got, want);
        }
        // Runs may be empty.
        let mut got = String::new();
        SearchText::new(&head, &[], &[]).write(&mut got, &[], None);
        let mut want = String::new();
        Json::Obj(head).write_indented(&mut want, 1);
        assert_eq!(got, want);
    }
}
