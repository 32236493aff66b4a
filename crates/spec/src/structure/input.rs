//! The folder tree of `input` packages (`spec/input/spec.yml`): one input, its agent
//! template and the fields of its implicit data stream.

use epr_package::version::Version;

use super::dev;
use super::integration::{agent, changelog_file, docs, fields, img, manifest_file, root_limits};
use super::spec::{Item, MB, file, files, folder, spec};
use crate::schemas::{FileSchema, before};

/// `input/spec.yml`: the package root.
pub fn root(v: &Version) -> Item {
    spec()
        .additional_contents()
        .limits(root_limits(50 * MB, 30 * MB, Some(2048)))
        .child(manifest_file(FileSchema::InputManifest))
        .child(changelog_file())
        .child(file("LICENSE.txt").plain_text())
        .child(folder("agent").required().with_spec(agent()))
        .child(folder("docs").required().with_spec(docs()))
        // Field definitions became optional in 3.5.0.
        .child(
            folder("fields")
                .required_if(before(v, "3.5.0"))
                .with_spec(fields()),
        )
        .child(files(r"^sample_event(_[a-z0-9]+)?.json$").json())
        .child(folder("_dev").source_only().with_spec(dev::input(v)))
        .child_if(
            !before(v, "2.10.0"),
            file("lifecycle.yml").yaml().schema(FileSchema::Lifecycle),
        )
        .child(file("validation.yml").yaml().schema(FileSchema::Validation))
        .child_if(!before(v, "3.2.2"), folder("img").with_spec(img()))
}
