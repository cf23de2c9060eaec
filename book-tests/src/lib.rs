//! The agentkit book's code, compiled and run.
//!
//! Each chapter of `book/src` is included below as the documentation of one
//! module, so `cargo test -p agentkit-book-tests --doc` compiles every
//! `rust` code block of the book and runs every one not marked `no_run`;
//! blocks marked `compile_fail` must fail to compile. A public API renamed
//! without updating the book fails the test suite.
//!
//! A `compile_fail` block passes whenever compilation fails, for any reason,
//! including a renamed API; stable rustdoc does not check the error code
//! written after it (`compile_fail,E0277`). So each `compile_fail` block in
//! the book has a twin that compiles: the same code with the mistake fixed.
//!
//! A chapter added to `book/src/SUMMARY.md` must be added here too; the test
//! at the bottom checks that.

#![warn(missing_docs)]

#[doc = include_str!("../../book/src/why.md")]
pub mod why {}

#[doc = include_str!("../../book/src/quick-start.md")]
pub mod quick_start {}

#[doc = include_str!("../../book/src/agents.md")]
pub mod agents {}

#[doc = include_str!("../../book/src/types.md")]
pub mod types {}

#[doc = include_str!("../../book/src/chains.md")]
pub mod chains {}

#[doc = include_str!("../../book/src/streaming.md")]
pub mod streaming {}

#[doc = include_str!("../../book/src/tools.md")]
pub mod tools {}

#[doc = include_str!("../../book/src/long-inputs.md")]
pub mod long_inputs {}

#[doc = include_str!("../../book/src/models.md")]
pub mod models {}

#[doc = include_str!("../../book/src/fleet.md")]
pub mod fleet {}

#[doc = include_str!("../../book/src/testing.md")]
pub mod testing {}

#[doc = include_str!("../../book/src/tracing.md")]
pub mod tracing {}

#[doc = include_str!("../../book/src/accuracy.md")]
pub mod accuracy {}

#[doc = include_str!("../../book/src/performance.md")]
pub mod performance {}

#[doc = include_str!("../../book/src/troubleshooting.md")]
pub mod troubleshooting {}

#[doc = include_str!("../../book/src/reference.md")]
pub mod reference {}

#[cfg(test)]
mod tests {
    /// Every chapter the book lists is included above, so none goes untested.
    #[test]
    fn every_chapter_in_summary_is_compiled() {
        let summary = include_str!("../../book/src/SUMMARY.md");
        let lib = include_str!("lib.rs");
        let chapters: Vec<&str> = summary
            .split("](")
            .skip(1)
            .filter_map(|rest| rest.split(')').next())
            .collect();
        assert!(chapters.len() >= 12, "SUMMARY.md lists {chapters:?}");
        for chapter in chapters {
            let include = format!("include_str!(\"../../book/src/{chapter}\")");
            assert!(
                lib.contains(&include),
                "book/src/{chapter} is in SUMMARY.md but not included in book-tests/src/lib.rs"
            );
        }
    }

    /// The README's list of examples names every file in
    /// `examples/examples`, so a new example does not go unmentioned.
    #[test]
    fn the_readme_lists_every_example() {
        let readme = include_str!("../../README.md");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/examples");
        let mut missing = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                if !readme.contains(&format!("`{name}`")) {
                    missing.push(name);
                }
            }
        }
        assert!(
            missing.is_empty(),
            "README.md does not list the examples {missing:?}"
        );
    }
}
