//! The folder tree of `content` packages (`spec/content/spec.yml`): Kibana and
//! Elasticsearch assets only, nothing else at the root.

use epr_package::version::Version;

use super::dev;
use super::integration::{
    any_assets, changelog_file, docs, esql_views, img, manifest_file, named_assets,
    named_assets_without_ecs, root_limits, tags_file,
};
use super::spec::{Item, MB, file, folder, spec};
use crate::schemas::{FileSchema, before};

/// `content/spec.yml`: the package root.
pub fn root(v: &Version) -> Item {
    let root = spec()
        .limits(root_limits(250 * MB, 150 * MB, None))
        // Beta in 3.3.0, GA since 3.3.1.
        .beta_if(before(v, "3.3.1"));
    // The package type does not exist before 3.3.0: nothing is allowed.
    if before(v, "3.3.0") {
        return root;
    }
    root.child(manifest_file(FileSchema::ContentManifest))
        .child(changelog_file())
        .child(file("LICENSE.txt").plain_text())
        .child(folder("docs").required().with_spec(docs()))
        .child(folder("img").with_spec(img()))
        .child(folder("kibana").with_spec(kibana(v)))
        .child(file("validation.yml").yaml().schema(FileSchema::Validation))
        .child_if(
            !before(v, "3.6.0"),
            folder("elasticsearch").with_spec(spec().child(esql_views())),
        )
        .child(folder("_dev").source_only().with_spec(dev::content()))
}

/// `content/kibana/spec.yml`.
fn kibana(v: &Version) -> Item {
    spec()
        .child(named_assets_without_ecs("dashboard"))
        .child(tags_file())
        .child_if(!before(v, "3.4.0"), named_assets("security_ai_prompt"))
        .child(any_assets("security_rule"))
        .child_if(!before(v, "3.5.0"), any_assets("alerting_rule_template"))
        .child_if(!before(v, "3.5.0"), any_assets("slo_template"))
        .child(named_assets("ml_module"))
        .child(named_assets_without_ecs("search"))
}
