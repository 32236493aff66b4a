//! The embedded category list and input-to-ingestion-method table.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::yaml::{self, Value};

/// A known category: its title and, for subcategories, its parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: String,
    pub title: String,
    pub parent: Option<(String, String)>,
}

/// The categories the registry knows, by id.
pub fn categories() -> &'static HashMap<String, Category> {
    static CATEGORIES: OnceLock<HashMap<String, Category>> = OnceLock::new();
    CATEGORIES.get_or_init(|| parse_categories(include_str!("../data/categories.yml")))
}

pub fn category(id: &str) -> Option<&'static Category> {
    categories().get(id)
}

/// True if `wanted` is in `list`, or `list` holds a subcategory of `wanted`.
pub fn has_category(list: &[String], wanted: &str) -> bool {
    list.iter().any(|c| {
        c == wanted
            || category(c)
                .and_then(|cat| cat.parent.as_ref())
                .is_some_and(|(parent, _)| parent == wanted)
    })
}

fn parse_categories(text: &str) -> HashMap<String, Category> {
    let doc = yaml::parse(text).expect("embedded categories.yml is valid YAML");
    let mut out = HashMap::new();
    let Some(Value::Map(top)) = doc.get("categories").map(|n| &n.value) else {
        return out;
    };
    let title_of = |node: &yaml::Node, id: &str| match node.get("title").map(|t| &t.value) {
        Some(Value::String(t)) => t.clone(),
        _ => id.to_string(),
    };
    for (id, node) in top {
        let title = title_of(node, id);
        if let Some(Value::Map(subs)) = node.get("subcategories").map(|n| &n.value) {
            for (sub_id, sub) in subs {
                out.insert(
                    sub_id.clone(),
                    Category {
                        id: sub_id.clone(),
                        title: title_of(sub, sub_id),
                        parent: Some((id.clone(), title.clone())),
                    },
                );
            }
        }
        out.entry(id.clone()).or_insert(Category {
            id: id.clone(),
            title,
            parent: None,
        });
    }
    out
}

/// The ingestion method shown for an input type, if the table maps it.
pub fn ingestion_method(input: &str) -> Option<&'static str> {
    static METHODS: OnceLock<HashMap<String, String>> = OnceLock::new();
    METHODS
        .get_or_init(|| {
            let doc = yaml::parse(include_str!("../data/ingestion_method.yml"))
                .expect("embedded ingestion_method.yml is valid YAML");
            let mut out = HashMap::new();
            if let Some(Value::Map(entries)) = doc.get("mappings").map(|n| &n.value) {
                for (k, v) in entries {
                    if let Value::String(s) = &v.value {
                        out.insert(k.clone(), s.clone());
                    }
                }
            }
            out
        })
        .get(input)
        .map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subcategories_know_their_parent() {
        let web = category("web").unwrap();
        assert_eq!(web.title, "Web Server");
        assert_eq!(web.parent.as_ref().unwrap().0, "observability");
        assert!(has_category(&["web".into()], "observability"));
        assert!(!has_category(&["web".into()], "security"));
        assert_eq!(category("datastore").unwrap().title, "Database");
    }

    #[test]
    fn maps_ingestion_methods() {
        assert_eq!(ingestion_method("logfile"), Some("File"));
        assert_eq!(ingestion_method("sql/metrics"), Some("Database"));
        assert_eq!(ingestion_method("nope"), None);
    }
}
