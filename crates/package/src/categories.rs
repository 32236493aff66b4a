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

/// The categories the registry knows, by id: the upstream's list (`data/categories.yml`,
/// a copy of the upstream's file), read as its `ReadCategories` reads it.
pub fn categories() -> &'static HashMap<String, Category> {
    static CATEGORIES: OnceLock<HashMap<String, Category>> = OnceLock::new();
    CATEGORIES.get_or_init(|| {
        // The list is compiled in and a unit test reads it, so this cannot fail at run time.
        parse_categories(include_str!("../data/categories.yml"))
            .expect("embedded categories.yml is a valid category list")
    })
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

/// Top-level categories and their `subcategories` (one level: deeper ones are not
/// read). As upstream: a missing title is empty, and an id defined twice (at any
/// level) makes the list ambiguous, an error.
fn parse_categories(text: &str) -> Result<HashMap<String, Category>, String> {
    let doc = yaml::parse(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    let Some(Value::Map(top)) = doc.get("categories").map(|n| &n.value) else {
        return Ok(out);
    };
    let title_of = |node: &yaml::Node| match node.get("title").map(|t| &t.value) {
        Some(Value::String(t)) => t.clone(),
        _ => String::new(),
    };
    let mut add = |id: &str, title: String, parent: Option<(String, String)>| {
        let category = Category {
            id: id.to_string(),
            title,
            parent,
        };
        match out.insert(id.to_string(), category) {
            Some(_) => Err(format!("ambiguous definition for category {id:?}")),
            None => Ok(()),
        }
    };
    for (id, node) in top {
        let title = title_of(node);
        add(id, title.clone(), None)?;
        if let Some(Value::Map(subs)) = node.get("subcategories").map(|n| &n.value) {
            for (sub_id, sub) in subs {
                add(sub_id, title_of(sub), Some((id.clone(), title.clone())))?;
            }
        }
    }
    Ok(out)
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

    /// The ids our hand-made list once had wrong, as the upstream's file has them.
    #[test]
    fn follows_the_upstream_list() {
        let parent = |id: &str| category(id).unwrap().parent.clone().map(|(p, _)| p);
        assert_eq!(categories().len(), 72);
        assert_eq!(parent("kubernetes").as_deref(), Some("observability"));
        for id in [
            "advanced_analytics_ueba",
            "asset_inventory",
            "cloudsecurity_cdr",
            "misconfiguration_workflow",
            "vulnerability_workflow",
        ] {
            assert_eq!(parent(id).as_deref(), Some("security"), "{id}");
        }
        assert_eq!(
            category("cloudsecurity_cdr").unwrap().title,
            "Cloud Security/CDR"
        );
        assert_eq!(category("email_security").unwrap().title, "Email");
        assert_eq!(parent("infrastructure"), None);
    }

    #[test]
    fn an_id_defined_twice_is_ambiguous() {
        let twice = "categories:\n  a:\n    title: A\n    subcategories:\n      b:\n        title: B\n  b:\n    title: B again\n";
        assert_eq!(
            parse_categories(twice).unwrap_err(),
            "ambiguous definition for category \"b\""
        );
        let untitled = parse_categories("categories:\n  a: {}\n").unwrap();
        assert_eq!(untitled["a"].title, "");
    }

    #[test]
    fn maps_ingestion_methods() {
        assert_eq!(ingestion_method("logfile"), Some("File"));
        assert_eq!(ingestion_method("sql/metrics"), Some("Database"));
        assert_eq!(ingestion_method("nope"), None);
    }
}
