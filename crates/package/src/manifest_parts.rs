//! The shared pieces of manifests (images, variables, inputs, streams, policy
//! templates, deprecations) decoded into their JSON shapes (spec/api.md §4.2, §4.3).

use crate::categories;
use crate::decode::{Obj, ObjBuilder, Problems};
use crate::fs::PackageFs;
use crate::json::{self, Json};
use crate::package::{LoadOptions, TemplateInfo, TemplateParts};
use crate::yaml::Node;

/// `/package/{name}/{version}`.
pub fn url_path(name: &str, version: &str) -> String {
    clean_path(&format!("/package/{name}/{version}"))
}

/// Go's `path.Clean` for absolute URL paths.
pub fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Image lists: `src` required; `path` is the URL of the file.
pub fn images(o: &Obj<'_>, key: &str, url_base: &str, p: &mut Problems) -> Vec<Json> {
    o.list(key, p)
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let i = Obj {
                node: Some(n),
                path: key,
            };
            let src = i.required_string("src", p);
            ObjBuilder::new()
                .str("src", &src)
                .str("path", &clean_path(&format!("{url_base}/{src}")))
                .opt_str("title", &i.string_or_empty("title", p))
                .opt_str("size", &i.string_or_empty("size", p))
                .opt_str("type", &i.string_or_empty("type", p))
                .build()
        })
        .collect()
}

/// The `deprecated` object, when set.
pub fn deprecated(o: &Obj<'_>, p: &mut Problems) -> Option<Json> {
    let d = o.obj("deprecated", "deprecated", p)?;
    let replaced_by = d.obj("replaced_by", "deprecated.replaced_by", p).map(|r| {
        ObjBuilder::new()
            .opt_str("package", &r.string_or_empty("package", p))
            .opt_str("policy_template", &r.string_or_empty("policy_template", p))
            .opt_str("input", &r.string_or_empty("input", p))
            .opt_str("data_stream", &r.string_or_empty("data_stream", p))
            .opt_str("variable", &r.string_or_empty("variable", p))
            .build()
    });
    Some(
        ObjBuilder::new()
            .str("since", &d.string_or_empty("since", p))
            .str("description", &d.string_or_empty("description", p))
            .opt("replaced_by", replaced_by)
            .build(),
    )
}

/// Variables: three booleans always printed; `default` whenever it is not null.
pub fn variables(o: &Obj<'_>, key: &str, p: &mut Problems) -> Vec<Json> {
    o.list(key, p)
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let v = Obj {
                node: Some(n),
                path: key,
            };
            ObjBuilder::new()
                .str("name", &v.string_or_empty("name", p))
                .str("type", &v.string_or_empty("type", p))
                .opt_str("title", &v.string_or_empty("title", p))
                .opt_str("description", &v.string_or_empty("description", p))
                .always("multi", Json::Bool(v.bool("multi", p).unwrap_or(false)))
                .always(
                    "required",
                    Json::Bool(v.bool("required", p).unwrap_or(false)),
                )
                .always(
                    "show_user",
                    Json::Bool(v.bool("show_user", p).unwrap_or(false)),
                )
                .opt("default", v.raw("default").map(json::from_yaml))
                .opt("deprecated", deprecated(&v, p))
                .build()
        })
        .collect()
}

/// Streams of a policy-template input or of a data stream. Data stream streams get
/// the defaults the upstream fills in (`template_path`, `enabled`, ingestion method).
pub fn streams(
    o: &Obj<'_>,
    data_stream_defaults: bool,
    p: &mut Problems,
) -> Vec<(Json, String, String, String)> {
    o.list("streams", p)
        .unwrap_or_default()
        .into_iter()
        .map(|n| {
            let s = Obj {
                node: Some(n),
                path: "streams",
            };
            let input = s.string_or_empty("input", p);
            let package = s.string_or_empty("package", p);
            let title = s.string_or_empty("title", p);
            let mut template_path = s.string_or_empty("template_path", p);
            let mut enabled = s.bool("enabled", p);
            let mut ingestion = s.string_or_empty("ingestion_method", p);
            if data_stream_defaults {
                enabled = enabled.or(Some(true));
                if template_path.is_empty() {
                    template_path = "stream.yml.hbs".into();
                }
                if let Some(m) = categories::ingestion_method(&input) {
                    ingestion = m.to_string();
                }
            }
            let json = ObjBuilder::new()
                .opt_str("input", &input)
                .opt_str("package", &package)
                .opt_list("vars", variables(&s, "vars", p))
                .opt_str("data_stream", &s.string_or_empty("data_stream", p))
                .opt_str("template_path", &template_path)
                .opt_str("title", &title)
                .opt_str("description", &s.string_or_empty("description", p))
                .opt("enabled", enabled.map(Json::Bool))
                .opt_str("ingestion_method", &ingestion)
                .build();
            (json, input, package, title)
        })
        .collect()
}

fn deployment_modes(o: &Obj<'_>, p: &mut Problems) -> Option<Json> {
    let d = o.obj("deployment_modes", "deployment_modes", p)?;
    let mode = |key: &str, agentless: bool, p: &mut Problems| -> Option<Json> {
        let m = d.obj(key, "deployment_modes", p)?;
        if !m.has("enabled") {
            p.push(
                m.node,
                &format!("deployment_modes.{key}.enabled"),
                "required field is missing",
            );
        }
        let mut b =
            ObjBuilder::new().always("enabled", Json::Bool(m.bool("enabled", p).unwrap_or(false)));
        if agentless {
            b = b.opt("is_default", m.bool("is_default", p).map(Json::Bool));
            let release = m.string_or_empty("release", p);
            if !release.is_empty() && release != "beta" && release != "ga" {
                p.push(
                    m.raw("release"),
                    "deployment_modes.agentless.release",
                    format!("invalid release: \"{release}\""),
                );
            }
            b = b.opt_str("release", &release);
        }
        Some(b.build())
    };
    Some(
        ObjBuilder::new()
            .opt("default", mode("default", false, p))
            .opt("agentless", mode("agentless", true, p))
            .build(),
    )
}

/// One policy template: what queries need, and its full JSON form.
pub fn policy_template(
    node: &Node,
    pkg_name: &str,
    pkg_version: &str,
    pkg_type: &str,
    fs: &dyn PackageFs,
    opts: &LoadOptions,
    p: &mut Problems,
) -> (TemplateInfo, Json) {
    let t = Obj {
        node: Some(node),
        path: "policy_templates",
    };
    let url_base = url_path(pkg_name, pkg_version);
    let name = t.required_string("name", p);
    let title = t.required_string("title", p);
    let description = t.required_string("description", p);
    let data_streams = t.strings("data_streams", p).unwrap_or_default();
    let icons = images(&t, "icons", &url_base, p);
    let screenshots = images(&t, "screenshots", &url_base, p);
    let categories = t.strings("categories", p);
    let modes = deployment_modes(&t, p);
    let input = t.string_or_empty("input", p);
    let mut ingestion = t.string_or_empty("ingestion_method", p);
    if pkg_type == "input" && !input.is_empty() {
        ingestion = categories::ingestion_method(&input)
            .unwrap_or("")
            .to_string();
    }
    let template_deprecated = deprecated(&t, p);

    let mut inputs = Vec::new();
    for n in t.list("inputs", p).unwrap_or_default() {
        let i = Obj {
            node: Some(n),
            path: "policy_templates.inputs",
        };
        let itype = i.string_or_empty("type", p);
        let ipackage = i.string_or_empty("package", p);
        if opts.validate && itype.is_empty() == ipackage.is_empty() {
            p.push(
                Some(n),
                "policy_templates.inputs",
                format!(
                    "policy template {name}: an input must have exactly one of `type` or `package`"
                ),
            );
        }
        let streams: Vec<Json> = streams(&i, false, p).into_iter().map(|s| s.0).collect();
        inputs.push(
            ObjBuilder::new()
                .opt_str("type", &itype)
                .opt_str("package", &ipackage)
                .opt_list("vars", variables(&i, "vars", p))
                .opt_str("title", &i.string_or_empty("title", p))
                .opt_str("description", &i.string_or_empty("description", p))
                .opt_list("streams", streams)
                .opt_str("template_path", &i.string_or_empty("template_path", p))
                .opt_str("input_group", &i.string_or_empty("input_group", p))
                .opt_list(
                    "deployment_modes",
                    i.strings("deployment_modes", p)
                        .unwrap_or_default()
                        .iter()
                        .map(Json::str)
                        .collect(),
                )
                .opt("deprecated", deprecated(&i, p))
                .build(),
        );
    }

    let readme = match fs.stat(&format!("docs/{name}.md")) {
        Some(e) if e.is_dir => {
            p.push(
                Some(node),
                "policy_templates",
                format!("{name}.md is a directory"),
            );
            None
        }
        Some(_) => Some(format!("{url_base}/docs/{name}.md")),
        None => None,
    };
    // Read last, as before: problems are reported in the order of the reads.
    let multiple = t.bool("multiple", p).unwrap_or(true);
    let kind = t.string_or_empty("type", p);
    let template_path = t.string_or_empty("template_path", p);
    TemplateParts {
        name,
        title,
        description,
        data_streams: data_streams.iter().map(Json::str).collect(),
        inputs,
        multiple: Some(multiple),
        icons,
        categories,
        screenshots,
        readme,
        deployment_modes: modes,
        kind,
        input,
        ingestion_method: ingestion,
        template_path,
        deprecated: template_deprecated,
    }
    .into_documents()
}

/// `agent: {privileges: {root}}`, present when the manifest sets `agent`.
pub fn agent_privileges(o: &Obj<'_>, p: &mut Problems) -> Option<Json> {
    let a = o.obj("agent", "agent", p)?;
    let privileges = a.obj("privileges", "agent.privileges", p).map(|pr| {
        ObjBuilder::new()
            .opt_true("root", pr.bool("root", p).unwrap_or(false))
            .build()
    });
    Some(ObjBuilder::new().opt("privileges", privileges).build())
}

/// Every regular file as a URL, breadth by depth in walk order (spec/api.md §4.5).
pub fn assets(fs: &dyn PackageFs, url_base: &str, p: &mut Problems) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 1;
    loop {
        let at_depth: Vec<_> = fs.entries().iter().filter(|e| e.depth() == depth).collect();
        if at_depth.is_empty() {
            break;
        }
        for e in at_depth {
            if e.path.contains(".DS_Store") {
                continue;
            }
            if e.is_dir {
                let base = e.path.rsplit('/').next().unwrap_or(&e.path);
                if base.contains('-') {
                    p.push(None, &e.path, "directory name inside package contains -");
                }
                continue;
            }
            out.push(format!("{url_base}/{}", e.path));
        }
        depth += 1;
    }
    out
}
