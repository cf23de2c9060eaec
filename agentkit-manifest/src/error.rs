//! The error of a manifest that could not be read or is not valid.

use std::path::{Path, PathBuf};

#[cfg(doc)]
use crate::Manifest;

/// A manifest that could not be read or is not valid: where (file, line,
/// column) and what to do about it.
///
/// Displays as `path:line:column: message`, the way compilers point at a
/// mistake. Its [`source`](std::error::Error::source) is the underlying I/O
/// or TOML error, whose own display quotes the offending line.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", place(path.as_deref(), *line, *column))]
pub struct ManifestError {
    pub(crate) path: Option<PathBuf>,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
    #[source]
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

/// `path:line:column: `, or as much of it as is known.
fn place(path: Option<&Path>, line: usize, column: usize) -> String {
    match (path, line) {
        (Some(path), 0) => format!("{}: ", path.display()),
        (Some(path), line) => format!("{}:{line}:{column}: ", path.display()),
        (None, 0) => String::new(),
        (None, line) => format!("line {line}, column {column}: "),
    }
}

impl ManifestError {
    /// An error at the byte range `span` of `text`.
    pub(crate) fn at(text: &str, span: std::ops::Range<usize>, message: String) -> ManifestError {
        let (line, column) = line_column(text, span.start);
        ManifestError {
            path: None,
            line,
            column,
            message,
            source: None,
        }
    }

    /// An error that toml reported, at the place toml named.
    pub(crate) fn from_toml(text: &str, message: String, source: toml::de::Error) -> ManifestError {
        let (line, column) = source.span().map_or((0, 0), |s| line_column(text, s.start));
        ManifestError {
            path: None,
            line,
            column,
            message,
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn with_path(mut self, path: &Path) -> ManifestError {
        self.path = Some(path.to_path_buf());
        self
    }

    /// The manifest's path, when it was read with [`Manifest::load`].
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The 1-based line of the mistake; 0 when the file could not be read or
    /// the place is not known.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The 1-based column (in characters) of the mistake; 0 when the line is 0.
    pub fn column(&self) -> usize {
        self.column
    }

    /// What went wrong and what to do, without the place.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Gives up the underlying I/O or TOML error, so that an error type
    /// wrapping this one can keep the [`source`](std::error::Error::source)
    /// chain without displaying this error's message twice.
    pub fn into_source(self) -> Option<Box<dyn std::error::Error + Send + Sync>> {
        self.source
    }
}

/// The 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[start..].chars().count() + 1;
    (line, column)
}
