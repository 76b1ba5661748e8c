//! The class-to-index map as a JSON file saved next to results.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{DataError, Result};

/// The JSON form of a dataset's classes:
///
/// ```json
/// { "num_classes": 2, "classes": ["cat", "dog"], "class_to_index": { "cat": 0, "dog": 1 } }
/// ```
///
/// `classes` is authoritative (index order); `class_to_index` is there for readers that want
/// a lookup table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassIndex {
    /// Number of classes.
    pub num_classes: usize,
    /// Class names, by index.
    pub classes: Vec<String>,
    /// Name to index.
    pub class_to_index: BTreeMap<String, usize>,
}

impl ClassIndex {
    /// The map for `class_names` (index = position). Fails on duplicate names.
    pub fn new(class_names: &[String]) -> Result<Self> {
        let mut class_to_index = BTreeMap::new();
        for (i, name) in class_names.iter().enumerate() {
            if class_to_index.insert(name.clone(), i).is_some() {
                return Err(DataError::param(
                    "class names",
                    name,
                    "appears more than once",
                ));
            }
        }
        Ok(Self {
            num_classes: class_names.len(),
            classes: class_names.to_vec(),
            class_to_index,
        })
    }
}

/// Writes the class-to-index map of `class_names` to `path` as pretty JSON (see
/// [`ClassIndex`]).
pub fn write_class_index_json(path: impl AsRef<Path>, class_names: &[String]) -> Result<()> {
    let path = path.as_ref();
    let json = serde_json::to_string_pretty(&ClassIndex::new(class_names)?).map_err(|e| {
        DataError::Json {
            path: path.to_path_buf(),
            source: e,
        }
    })?;
    std::fs::write(path, json + "\n").map_err(|e| DataError::io("cannot write", path, e))
}

/// Reads a file written by [`write_class_index_json`] and returns the class names by index,
/// checking that the three fields agree.
pub fn read_class_index_json(path: impl AsRef<Path>) -> Result<Vec<String>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| DataError::io("cannot read", path, e))?;
    let index: ClassIndex = serde_json::from_str(&text).map_err(|e| DataError::Json {
        path: path.to_path_buf(),
        source: e,
    })?;
    if ClassIndex::new(&index.classes).ok().as_ref() != Some(&index) {
        return Err(DataError::Format {
            path: path.to_path_buf(),
            reason: "num_classes, classes and class_to_index disagree".into(),
        });
    }
    Ok(index.classes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;

    #[test]
    fn round_trip_and_content() {
        let tmp = TempDir::new("classes");
        let p = tmp.path().join("classes.json");
        let names = vec!["dog".to_string(), "cat".to_string()];
        write_class_index_json(&p, &names).unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(v["class_to_index"]["cat"], 1);
        assert_eq!(v["classes"][0], "dog");
        assert_eq!(v["num_classes"], 2);
        assert_eq!(read_class_index_json(&p).unwrap(), names);
    }

    #[test]
    fn rejects_duplicates_and_inconsistent_files() {
        let tmp = TempDir::new("classes-bad");
        let p = tmp.path().join("c.json");
        assert!(write_class_index_json(&p, &["a".into(), "a".into()]).is_err());
        std::fs::write(
            &p,
            r#"{"num_classes":2,"classes":["a","b"],"class_to_index":{"a":1,"b":0}}"#,
        )
        .unwrap();
        assert!(matches!(
            read_class_index_json(&p),
            Err(DataError::Format { .. })
        ));
        std::fs::write(&p, "{").unwrap();
        assert!(matches!(
            read_class_index_json(&p),
            Err(DataError::Json { .. })
        ));
    }
}
