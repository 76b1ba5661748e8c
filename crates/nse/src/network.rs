//! Naming a network on the command line: a published name, a `NetworkSpec` JSON file, or an
//! entry of a search's `front.json`.

use std::path::Path;

use nse_space::{NetworkSpec, PUBLISHED, published};
use nse_train::search::FrontFile;

/// The network `name` stands for: a published network (`nsenet27`, `nsenet`, `nsenet-gpu`),
/// a `NetworkSpec` JSON file, or a `front.json` (then entry `index` of its front). Errors
/// say which of these failed and why.
pub fn load(name: &str, index: usize) -> crate::Result<NetworkSpec> {
    if PUBLISHED.contains(&name) {
        return Ok(published(name)?);
    }
    let path = Path::new(name);
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "`{name}` is neither a published network ({}) nor a readable file: {e}",
            PUBLISHED.join(", ")
        )
    })?;
    if let Ok(front) = serde_json::from_str::<FrontFile>(&text) {
        return Ok(front.network(index)?);
    }
    serde_json::from_str(&text).map_err(|source| crate::Error::Json {
        what: name.to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_files_and_errors() {
        assert_eq!(load("nsenet", 0).unwrap(), published("nsenet").unwrap());
        let file = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../examples/archs/cifar10-mb27-example.json"
        );
        assert_eq!(
            load(file, 0).unwrap().name.as_deref(),
            Some("cifar10-mb27-example")
        );
        assert!(
            load("no-such-net", 0)
                .unwrap_err()
                .to_string()
                .contains("neither a published network")
        );
    }
}
