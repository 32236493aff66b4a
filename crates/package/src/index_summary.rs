//! The part of an index entry that queries need, decoded without the rest.
//!
//! A `package_manifest` is about 28 KB, most of it what only `/package/{name}/{version}/`
//! prints: policy template inputs, data stream streams, variables, index templates,
//! the readme. A registry serving 10,000 versions from a bucket index would hold
//! hundreds of MB of it and spend seconds decoding it at every start, for pages that
//! are asked for one at a time. [`summary_from_index_manifest`] builds the JSON tree of
//! the fields that the `/search` entry and the filters use, skipping every other value
//! as it parses (the parse still checks the syntax of all of it), and decodes that tree
//! with [`from_index_manifest`]: the same rules, the same error messages, for those
//! fields. The full document is decoded from the manifest's text when it is asked for.
//!
//! So a type error in a field only the full document has (say a data stream's
//! `streams`) does not refuse the index at load, as upstream would; it is reported when
//! that package's page is asked for. Every check upstream names as failing the load
//! (versions, constraints, `format_version`) is in the summary.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use crate::Package;
use crate::index_entry::{from_index_manifest, go_fold_eq, not_valid_json};
use crate::package::LoadError;

/// The manifest keys the summary decodes, with how to read their values.
const MANIFEST_KEYS: &[(&str, Keep)] = &[
    ("name", Keep::All),
    ("title", Keep::All),
    ("version", Keep::All),
    ("release", Keep::All),
    ("source", Keep::All),
    ("description", Keep::All),
    ("type", Keep::All),
    ("download", Keep::All),
    ("path", Keep::All),
    ("icons", Keep::All),
    ("policy_templates_behavior", Keep::All),
    ("conditions", Keep::All),
    ("owner", Keep::All),
    ("categories", Keep::All),
    ("signature_path", Keep::All),
    ("discovery", Keep::All),
    ("deprecated", Keep::All),
    ("requires", Keep::All),
    ("group", Keep::All),
    ("format_version", Keep::All),
    ("policy_templates", Keep::Templates),
    ("data_streams", Keep::DataStreams),
];

/// The policy template keys of its `/search` summary.
const TEMPLATE_KEYS: &[(&str, Keep)] = &[
    ("name", Keep::All),
    ("title", Keep::All),
    ("description", Keep::All),
    ("data_streams", Keep::All),
    ("icons", Keep::All),
    ("categories", Keep::All),
    ("deployment_modes", Keep::All),
    ("deprecated", Keep::All),
];

/// The data stream keys of its `/search` summary.
const DATA_STREAM_KEYS: &[(&str, Keep)] = &[
    ("type", Keep::All),
    ("dataset", Keep::All),
    ("title", Keep::All),
    ("deprecated", Keep::All),
];

/// Decodes what queries need of one index entry's `package_manifest` text; the
/// package has no full document ([`Package::full_json`] gives `None`).
pub fn summary_from_index_manifest(text: &str) -> Result<Package, LoadError> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = SummaryValue
        .deserialize(&mut deserializer)
        .and_then(|value| deserializer.end().map(|()| value))
        .map_err(not_valid_json)?;
    summary_from_value(&value)
}

/// The summary of a manifest parsed with [`SummaryValue`].
pub fn summary_from_value(value: &Value) -> Result<Package, LoadError> {
    Ok(from_index_manifest(value)?.into_summary())
}

/// Parses a manifest into the JSON tree of what the summary needs, skipping the rest:
/// for a caller that parses the manifest as part of a larger document (an index entry).
#[derive(Debug, Clone, Copy)]
pub struct SummaryValue;

impl<'de> DeserializeSeed<'de> for SummaryValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        Keep::Manifest.deserialize(deserializer)
    }
}

/// What of a value to keep. Objects and arrays where the summary expects them are
/// pruned; anything else is kept whole, so that a value of the wrong type is reported
/// as [`from_index_manifest`] reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    All,
    /// The manifest object.
    Manifest,
    /// `policy_templates`: an array of templates.
    Templates,
    Template,
    /// `data_streams`: an array of data streams.
    DataStreams,
    DataStream,
}

impl Keep {
    /// The keys kept of an object at this place, if it is pruned.
    fn keys(self) -> Option<&'static [(&'static str, Keep)]> {
        match self {
            Keep::Manifest => Some(MANIFEST_KEYS),
            Keep::Template => Some(TEMPLATE_KEYS),
            Keep::DataStream => Some(DATA_STREAM_KEYS),
            _ => None,
        }
    }

    /// How the items of an array at this place are kept.
    fn items(self) -> Keep {
        match self {
            Keep::Templates => Keep::Template,
            Keep::DataStreams => Keep::DataStream,
            _ => Keep::All,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Keep {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self == Keep::All {
            return serde::Deserialize::deserialize(deserializer);
        }
        deserializer.deserialize_any(self)
    }
}

/// Builds the same `Value` as serde_json does, leaving out the pruned keys.
impl<'de> Visitor<'de> for Keep {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self.items())? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let keys = self.keys().unwrap_or_default();
        let mut object = Map::new();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            match kept(keys, &key) {
                Some(keep) => {
                    let value = map.next_value_seed(keep)?;
                    object.insert(key.into_owned(), value);
                }
                None if self.keys().is_some() => {
                    map.next_value::<IgnoredAny>()?;
                }
                None => {
                    let value = map.next_value_seed(Keep::All)?;
                    object.insert(key.into_owned(), value);
                }
            }
        }
        Ok(Value::Object(object))
    }
}

/// How the kept field that `key` names is kept, matched as Go matches struct fields.
fn kept(keys: &[(&str, Keep)], key: &str) -> Option<Keep> {
    keys.iter()
        .find(|(field, _)| go_fold_eq(key, field))
        .map(|&(_, keep)| keep)
}

/// An object key, borrowed from the text unless it has escapes: most keys of a
/// manifest are skipped, and need no copy.
struct Key<'de>(Cow<'de, str>);

impl<'de> serde::Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index_entry::from_index_manifest_bytes;

    /// The summary of a manifest is the full decoding with the full document dropped.
    fn same_as_full(text: &str) {
        let full = from_index_manifest_bytes(text.as_bytes());
        let summary = summary_from_index_manifest(text);
        match (full, summary) {
            (Ok(full), Ok(summary)) => {
                assert_eq!(format!("{:?}", full.into_summary()), format!("{summary:?}"))
            }
            (Err(full), Err(summary)) => assert_eq!(format!("{full:?}"), format!("{summary:?}")),
            (full, summary) => panic!("{text}: full {full:?}, summary {summary:?}"),
        }
    }

    #[test]
    fn decodes_the_summary_fields_as_the_full_decoder() {
        let manifest = r#"{
            "name": "foo", "version": "1.2.0", "title": "Foo", "type": "integration",
            "format_version": "3.1.0", "release": "ga", "description": "d",
            "conditions": {"kibana": {"version": "^8.5.0"}, "elastic": {"subscription": "basic"}},
            "owner": {"github": "elastic/x", "type": "elastic"}, "categories": ["security", "unknown"],
            "icons": [{"src": "/img/a.svg", "type": "image/svg+xml"}],
            "Policy_Templates": [{"name": "t", "title": "T", "description": "td",
                "inputs": [{"type": "logfile", "vars": [{"name": "v", "type": "text", "default": {"b": 1, "a": [2]}}]}],
                "categories": ["security"], "readme": "r", "multiple": true}],
            "data_streams": [{"type": "logs", "dataset": "foo.log", "title": "L",
                "streams": [{"input": "logfile", "vars": []}], "elasticsearch": {"index_template.mappings": {"x": 1}}}],
            "readme": "/package/foo/1.2.0/docs/README.md", "screenshots": [], "vars": [],
            "deprecated": {"description": "old", "since": "1.1.0"},
            "discovery": {"fields": [{"name": "a.b"}]}, "signature_path": "/epr/foo/foo-1.2.0.zip.sig"
        }"#;
        same_as_full(manifest);
        let summary = summary_from_index_manifest(manifest).unwrap();
        assert!(summary.full_json(None).is_none());
        assert_eq!(summary.templates.len(), 1);
        assert_eq!(summary.categories, ["security", "unknown"]);
    }

    #[test]
    fn reports_summary_errors_as_the_full_decoder() {
        for bad in [
            r#"{"name": "foo", "version": "1.0"}"#,
            r#"{"name": "foo", "version": "1.0.0", "conditions": {"kibana": {"version": "not a range"}}}"#,
            r#"{"name": "foo", "version": "1.0.0", "format_version": "x"}"#,
            r#"{"name": "foo", "version": "1.0.0", "policy_templates": [{"name": 3}]}"#,
            r#"{"name": "foo", "version": "1.0.0", "policy_templates": {"name": "t"}}"#,
            r#"{"name": "foo", "version": "1.0.0", "data_streams": [{"title": []}]}"#,
            r#"{"name": "foo", "version": "1.0.0", "categories": "security"}"#,
            r#"["not an object"]"#,
            r#"{"name": "foo", "version": "1.0.0""#,
        ] {
            same_as_full(bad);
        }
    }

    #[test]
    fn skips_what_only_the_full_document_has() {
        // A wrong type where only the full document looks is found when it is decoded.
        let text = r#"{"name": "foo", "version": "1.0.0", "data_streams": [{"type": "logs", "streams": 7}]}"#;
        assert!(summary_from_index_manifest(text).is_ok());
        assert!(from_index_manifest_bytes(text.as_bytes()).is_err());
        // Its syntax is still checked.
        let text = r#"{"name": "foo", "version": "1.0.0", "readme": [1,]}"#;
        assert!(summary_from_index_manifest(text).is_err());
    }
}
