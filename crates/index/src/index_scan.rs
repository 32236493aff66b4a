//! One pass over a `search-index-all.json`: the JSON text of every entry's
//! `package_manifest`, borrowed from the file's bytes.
//!
//! The file is hundreds of MB at 10,000 versions (a manifest is ~28 KB), so how often it
//! is scanned is what reading it costs. Reading it into maps of raw values, then the
//! array, then each entry, as `serde_json`'s ready-made types do, scans every byte three
//! times; these visitors take the structure apart in the one pass that also checks the
//! syntax. Decoding the manifests is left to the caller, which does it in parallel.
//!
//! Keys are matched as upstream matches them: `packages` exactly (its reader looks for
//! that token), `package_manifest`, `name` and `version` as Go's encoding/json matches
//! struct fields, ignoring ASCII case, the last occurrence winning.

use std::fmt;
use std::marker::PhantomData;

use rayon::iter::{ParallelBridge, ParallelIterator};
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

/// Visitor methods for the scalars a value of the wrong shape can be: each gives
/// `Ok(wrap("<prefix>found <what>"))`, so that the caller can report the entry (or the
/// file) instead of failing with serde's error.
macro_rules! not_this_shape {
    ($wrap:expr) => {
        not_this_shape!($wrap, "");
    };
    ($wrap:expr, $prefix:literal) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(($wrap)(format!("{}found null", $prefix)))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(($wrap)(found($prefix, de::Unexpected::Bool(v))))
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(($wrap)(found($prefix, de::Unexpected::Signed(v))))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(($wrap)(found($prefix, de::Unexpected::Unsigned(v))))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(($wrap)(found($prefix, de::Unexpected::Float(v))))
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(($wrap)(found($prefix, de::Unexpected::Str(v))))
        }
    };
}

/// `"<prefix>found <what>"`, e.g. `not an object: found integer `3``.
fn found(prefix: &str, what: de::Unexpected<'_>) -> String {
    format!("{prefix}found {what}")
}

/// One item of the `packages` array: its manifest's text, or what is wrong with it.
pub(crate) type Item<'a> = Result<&'a RawValue, String>;

/// Why the file as a whole cannot be read.
#[derive(Debug)]
pub(crate) enum ScanError {
    /// Not JSON, or not an object at the top.
    NotAnObject(serde_json::Error),
    NoPackages,
    /// `packages` is there but is not an array; says what it is.
    PackagesNotAnArray(String),
}

/// `f` applied to every item of the top-level `packages` array, in parallel with the
/// scan: the scan runs on one thread and hands each item over as soon as it is read,
/// so decoding the first entries overlaps reading the last ones. Results in file order.
pub(crate) fn map_packages<'a, T, F>(bytes: &'a [u8], f: F) -> Result<Vec<T>, ScanError>
where
    T: Send,
    F: Fn(usize, Item<'a>) -> T + Sync + Send,
{
    let (sender, receiver) = std::sync::mpsc::channel::<(usize, Item<'a>)>();
    let scan = move || {
        let mut next = 0;
        scan_packages(bytes, &mut |item| {
            // The receiver only goes away once the scan is over.
            let _ = sender.send((next, item));
            next += 1;
        })
    };
    let map = || {
        receiver
            .into_iter()
            .par_bridge()
            .map(|(i, item)| (i, f(i, item)))
            .collect::<Vec<_>>()
    };
    let (scanned, mut mapped) = rayon::join(scan, map);
    scanned?;
    mapped.sort_unstable_by_key(|(i, _)| *i);
    Ok(mapped.into_iter().map(|(_, value)| value).collect())
}

/// Gives every item of the top-level `packages` array to `sink`, in file order.
fn scan_packages<'a>(bytes: &'a [u8], sink: &mut dyn FnMut(Item<'a>)) -> Result<(), ScanError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let packages = TopLevel { sink }
        .deserialize(&mut deserializer)
        .and_then(|packages| deserializer.end().map(|()| packages))
        .map_err(ScanError::NotAnObject)?;
    match packages {
        None => Err(ScanError::NoPackages),
        Some(Err(found)) => Err(ScanError::PackagesNotAnArray(found)),
        Some(Ok(())) => Ok(()),
    }
}

/// The `name` and `version` of the manifest of an index entry
/// `{"package_manifest": {...}}`, in one pass over the entry (which checks its syntax),
/// without decoding the rest.
pub(crate) fn entry_name_and_version(entry: &str) -> Result<(String, String), String> {
    let fields = serde_json::from_str::<WrappedNameVersion<'_>>(entry)
        .map_err(|e| format!("not valid JSON: {e}"))?
        .0?;
    name_and_version_of(fields)
}

/// The `name` and `version` strings of a manifest, without decoding the rest.
pub(crate) fn name_and_version(manifest: &RawValue) -> Result<(String, String), String> {
    let fields: NameVersion<'_> = serde_json::from_str(manifest.get())
        .map_err(|e| format!("package_manifest: not an object: {e}"))?;
    name_and_version_of(fields)
}

fn name_and_version_of(fields: NameVersion<'_>) -> Result<(String, String), String> {
    let text = |key: &str, raw: Option<&RawValue>| -> Result<String, String> {
        let raw = raw.ok_or_else(|| format!("package_manifest: no {key}"))?;
        serde_json::from_str::<String>(raw.get())
            .map_err(|_| format!("package_manifest: {key} is not a string"))
    };
    Ok((text("name", fields.name)?, text("version", fields.version)?))
}

/// `{"packages": [...], ...}`, its items given to `sink`. Gives `None` without the key,
/// `Some(Err(what it is))` when it is not an array. Other keys are skipped; a second
/// `packages` is refused (its first items would have been taken already).
struct TopLevel<'s, 'a> {
    sink: &'s mut dyn FnMut(Item<'a>),
}

impl<'de> DeserializeSeed<'de> for TopLevel<'_, 'de> {
    type Value = Option<Result<(), String>>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, 'de> {
    type Value = Option<Result<(), String>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut packages = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "packages" {
                map.next_value::<IgnoredAny>()?;
            } else if packages.is_some() {
                return Err(de::Error::custom("\"packages\" appears twice"));
            } else {
                packages = Some(map.next_value_seed(Items {
                    sink: &mut *self.sink,
                })?);
            }
        }
        Ok(packages)
    }
}

/// The `packages` value: its items given to `sink`, or what was found instead.
struct Items<'s, 'a> {
    sink: &'s mut dyn FnMut(Item<'a>),
}

impl<'de> DeserializeSeed<'de> for Items<'_, 'de> {
    type Value = Result<(), String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Items<'_, 'de> {
    type Value = Result<(), String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while let Some(WrappedManifest(item)) = seq.next_element()? {
            (self.sink)(item);
        }
        Ok(Ok(()))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Ok(Err(skip_map(map)?))
    }

    not_this_shape!(Err);
}

/// `{"package_manifest": {...}}`: the manifest's text, or what is wrong.
pub(crate) struct WrappedManifest<'a>(pub(crate) Item<'a>);

impl<'de> Deserialize<'de> for WrappedManifest<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Wrapped(PhantomData::<&'de RawValue>)
            .deserialize(deserializer)
            .map(WrappedManifest)
    }
}

/// A manifest value that can be JSON `null`, which counts as absent.
pub(crate) trait MaybeNull {
    fn is_null(&self) -> bool;
}

impl MaybeNull for &RawValue {
    fn is_null(&self) -> bool {
        self.get() == "null"
    }
}

impl MaybeNull for serde_json::Value {
    fn is_null(&self) -> bool {
        serde_json::Value::is_null(self)
    }
}

/// `{"package_manifest": ...}` with `seed` reading the manifest (the last one wins),
/// or what is wrong with the entry. Other keys are skipped.
pub(crate) struct Wrapped<S>(pub(crate) S);

impl<'de, S> DeserializeSeed<'de> for Wrapped<S>
where
    S: DeserializeSeed<'de> + Clone,
    S::Value: MaybeNull,
{
    type Value = Result<S::Value, String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S> Visitor<'de> for Wrapped<S>
where
    S: DeserializeSeed<'de> + Clone,
    S::Value: MaybeNull,
{
    type Value = Result<S::Value, String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut manifest = None;
        while let Some(key) = map.next_key::<String>()? {
            if key.eq_ignore_ascii_case("package_manifest") {
                manifest = Some(map.next_value_seed(self.0.clone())?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(match manifest {
            Some(m) if !m.is_null() => Ok(m),
            _ => Err("no package_manifest".to_string()),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        Ok(Err(format!("not an object: {}", skip_seq(seq)?)))
    }

    not_this_shape!(Err, "not an object: ");
}

/// An entry's manifest's [`NameVersion`], or what is wrong with the entry.
struct WrappedNameVersion<'a>(Result<NameVersion<'a>, String>);

impl<'de> Deserialize<'de> for WrappedNameVersion<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Wrapped(PhantomData::<NameVersion<'de>>)
            .deserialize(deserializer)
            .map(WrappedNameVersion)
    }
}

impl MaybeNull for NameVersion<'_> {
    fn is_null(&self) -> bool {
        false
    }
}

/// The raw `name` and `version` values of a manifest.
struct NameVersion<'a> {
    name: Option<&'a RawValue>,
    version: Option<&'a RawValue>,
}

impl<'de> Deserialize<'de> for NameVersion<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldsVisitor;
        impl<'de> Visitor<'de> for FieldsVisitor {
            type Value = NameVersion<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = NameVersion {
                    name: None,
                    version: None,
                };
                while let Some(key) = map.next_key::<String>()? {
                    if key.eq_ignore_ascii_case("name") {
                        fields.name = Some(map.next_value()?);
                    } else if key.eq_ignore_ascii_case("version") {
                        fields.version = Some(map.next_value()?);
                    } else {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
                Ok(fields)
            }
        }
        deserializer.deserialize_map(FieldsVisitor)
    }
}

/// Skips an object it did not expect; says what it was.
fn skip_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<String, A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok("found an object".to_string())
}

/// Skips an array it did not expect; says what it was.
fn skip_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<String, A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok("found an array".to_string())
}
