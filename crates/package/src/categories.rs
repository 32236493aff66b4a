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

/// The ingestion method shown for an input type: the upstream's
/// `IngestionMethod.Get`, an exact lookup in its table (`data/ingestion_method.yml`,
/// a copy of the upstream's file); `None` for an unmapped input.
pub fn ingestion_method(input: &str) -> Option<&'static str> {
    ingestion_methods().get(input).map(String::as_str)
}

fn ingestion_methods() -> &'static HashMap<String, String> {
    static METHODS: OnceLock<HashMap<String, String>> = OnceLock::new();
    METHODS.get_or_init(|| {
        // The table is compiled in and a unit test reads it, so this cannot fail at run time.
        parse_ingestion_methods(include_str!("../data/ingestion_method.yml"))
            .expect("embedded ingestion_method.yml is valid YAML")
    })
}

/// The `mappings` of the table. Upstream returns "" for an empty value and then
/// sets no method, so an empty value is left out: it maps nothing.
fn parse_ingestion_methods(text: &str) -> Result<HashMap<String, String>, String> {
    let doc = yaml::parse(text).map_err(|e| e.to_string())?;
    let mut out = HashMap::new();
    if let Some(Value::Map(entries)) = doc.get("mappings").map(|n| &n.value) {
        for (input, method) in entries {
            if let Value::String(method) = &method.value
                && !method.is_empty()
            {
                out.insert(input.clone(), method.clone());
            }
        }
    }
    Ok(out)
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

    /// The upstream's whole table at 1.40.1 (internal/ingestionmethod/ingestion_method.yml),
    /// written out here so that a changed or lost entry in our copy shows.
    const UPSTREAM_INGESTION_METHODS: [(&str, &str); 64] = [
        ("cel", "API"),
        ("entity-analytics", "API"),
        ("httpjson", "API"),
        ("o365audit", "API"),
        ("salesforce", "API"),
        ("streaming", "API"),
        ("websocket", "API"),
        ("winlog", "API"),
        ("apache/metrics", "API"),
        ("aws/metrics", "API"),
        ("awsfargate/metrics", "API"),
        ("azure/metrics", "API"),
        ("containerd/metrics", "API"),
        ("docker/metrics", "API"),
        ("elasticsearch/metrics", "API"),
        ("enterprisesearch/metrics", "API"),
        ("etcd/metrics", "API"),
        ("gcp/metrics", "API"),
        ("haproxy/metrics", "API"),
        ("http/metrics", "API"),
        ("kibana/metrics", "API"),
        ("kubernetes/metrics", "API"),
        ("logstash/metrics", "API"),
        ("meraki/metrics", "API"),
        ("nats/metrics", "API"),
        ("nginx/metrics", "API"),
        ("panw/metrics", "API"),
        ("rabbitmq/metrics", "API"),
        ("stan/metrics", "API"),
        ("vsphere/metrics", "API"),
        ("windows/metrics", "API"),
        ("memcached/metrics", "Database"),
        ("mongodb/metrics", "Database"),
        ("mysql/metrics", "Database"),
        ("postgresql/metrics", "Database"),
        ("redis", "Database"),
        ("redis/metrics", "Database"),
        ("sql/metrics", "Database"),
        ("zookeeper/metrics", "Database"),
        ("activemq/metrics", "Jolokia"),
        ("jolokia/metrics", "Jolokia"),
        ("kafka/metrics", "Jolokia"),
        ("filestream", "File"),
        ("logfile", "File"),
        ("linux/metrics", "File"),
        ("system/metrics", "File"),
        ("syslog", "Network Protocol"),
        ("tcp", "Network Protocol"),
        ("udp", "Network Protocol"),
        ("statsd/metrics", "Network Protocol"),
        ("http_endpoint", "Webhook"),
        ("aws-s3", "AWS S3"),
        ("azure-blob-storage", "Azure Blob Storage"),
        ("aws-cloudwatch", "AWS CloudWatch"),
        ("azure-eventhub", "Azure Event Hub"),
        ("etw", "ETW"),
        ("gcp-pubsub", "GCP Pub/Sub"),
        ("gcs", "Google Cloud Storage"),
        ("iis/metrics", "Windows Performance Counters"),
        ("journald", "journald"),
        ("kafka", "Kafka"),
        ("lumberjack", "Lumberjack"),
        ("netflow", "NetFlow"),
        ("prometheus/metrics", "Prometheus"),
    ];

    #[test]
    fn ingestion_methods_are_the_upstream_table() {
        for (input, method) in UPSTREAM_INGESTION_METHODS {
            assert_eq!(ingestion_method(input), Some(method), "{input}");
        }
        assert_eq!(ingestion_methods().len(), UPSTREAM_INGESTION_METHODS.len());
    }

    /// The upstream's rule: the exact input type, nothing near it.
    #[test]
    fn ingestion_methods_match_the_exact_input() {
        for input in [
            "",
            "nope",
            "azure",
            "azure/metrics/x",
            "Azure/metrics",
            " azure/metrics",
            "metrics",
            "redis/",
        ] {
            assert_eq!(ingestion_method(input), None, "{input:?}");
        }
        let table = "mappings:\n  a: A\n  empty: \"\"\n  null:\n";
        let parsed = parse_ingestion_methods(table).unwrap();
        assert_eq!(parsed.len(), 1);
        assert_eq!(parsed["a"], "A");
    }
}
