//! Errors: "could not run". Violations are never errors; they are findings.
//!
//! Every error names the file and, where it can, the line and column, and says
//! how to fix it (see `help`). Errors carry the source text so miette can draw
//! the offending line.

use miette::{Diagnostic, NamedSource, SourceSpan};
use std::fmt;

/// What kind of input could not be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The declared scope (YAML manifest).
    Scope,
    /// The observed store inventory.
    Stores,
    /// A Cedar policy file or the Cedar schema.
    Policy,
    /// The category taxonomy.
    Taxonomy,
    /// Detector definitions.
    Detectors,
    /// A capture, access log or other input that could not be read at all.
    Input,
    /// A bundle for the runtime plugin.
    Bundle,
    /// Something inside scopecheck that should not happen; please report it.
    Internal,
}

impl ErrorKind {
    fn label(self) -> &'static str {
        match self {
            ErrorKind::Scope => "scope",
            ErrorKind::Stores => "stores",
            ErrorKind::Policy => "policy",
            ErrorKind::Taxonomy => "taxonomy",
            ErrorKind::Detectors => "detectors",
            ErrorKind::Input => "input",
            ErrorKind::Bundle => "bundle",
            ErrorKind::Internal => "internal",
        }
    }
}

/// A position in a named input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name as the user gave it (or `<stdin>`, `<builtin>`).
    pub file: String,
    /// 1-based line, if known.
    pub line: Option<usize>,
    /// 1-based column (in characters), if known.
    pub column: Option<usize>,
}

impl Location {
    /// A location naming only a file.
    pub fn file(file: impl Into<String>) -> Self {
        Location { file: file.into(), line: None, column: None }
    }

    /// A location at a line and column.
    pub fn at(file: impl Into<String>, line: usize, column: usize) -> Self {
        Location { file: file.into(), line: Some(line), column: Some(column) }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(col) = self.column {
                write!(f, ":{col}")?;
            }
        }
        Ok(())
    }
}

/// The one error type of the library. As a [`miette::Diagnostic`] it has a code
/// (`scopecheck::scope`, `scopecheck::policy`, …), its help, and the source with the span.
#[derive(Debug, thiserror::Error)]
#[error("{location}: {message}")]
pub struct Error {
    /// What kind of input failed.
    pub kind: ErrorKind,
    /// Where.
    pub location: Location,
    /// What is wrong, in one sentence, lower case, no trailing period (cedar's style guide).
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
    /// The source, for drawing the line.
    pub src: Option<NamedSource<String>>,
    /// The span in `src`.
    pub span: Option<SourceSpan>,
}

impl Diagnostic for Error {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("scopecheck::{}", self.kind.label())))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.src.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.span.map(|s| {
            Box::new(std::iter::once(miette::LabeledSpan::new_with_span(Some("here".into()), s)))
                as Box<dyn Iterator<Item = miette::LabeledSpan>>
        })
    }
}

/// Short for `Result<T, scopecheck::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A new error at a location.
    pub fn new(kind: ErrorKind, location: Location, message: impl Into<String>) -> Self {
        Error { kind, location, message: message.into(), help: None, src: None, span: None }
    }

    /// An error at a byte offset of a source text; line and column are computed.
    pub fn at_offset(
        kind: ErrorKind,
        file: &str,
        text: &str,
        offset: usize,
        len: usize,
        message: impl Into<String>,
    ) -> Self {
        let (line, column) = line_col(text, offset);
        Error {
            kind,
            location: Location::at(file, line, column),
            message: message.into(),
            help: None,
            src: Some(NamedSource::new(file, text.to_string())),
            span: Some(SourceSpan::new(offset.into(), len)),
        }
    }

    /// An internal error (a bug in scopecheck, not in the input).
    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, Location::file("<scopecheck>"), message)
            .with_help("this is a bug in scopecheck; please report it with the command you ran")
    }

    /// Adds a hint on how to fix it.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The kind as a short word (`scope`, `policy`, ...).
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
}

/// 1-based line and column (in characters) of a byte offset in `text`.
/// An offset past the end points after the last character.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    for (i, ch) in text.char_indices() {
        if i >= offset {
            break;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// Byte offset of a 1-based line and column, if the text has it.
pub fn offset_of(text: &str, line: usize, column: usize) -> Option<usize> {
    let mut cur_line = 1;
    let mut line_start = 0;
    if line > 1 {
        for (i, ch) in text.char_indices() {
            if ch == '\n' {
                cur_line += 1;
                if cur_line == line {
                    line_start = i + 1;
                    break;
                }
            }
        }
        if cur_line != line {
            return None;
        }
    }
    let rest = text.get(line_start..)?;
    for (col, (i, _)) in (1..).zip(rest.char_indices()) {
        if col == column {
            return Some(line_start + i);
        }
    }
    Some(text.len())
}

/// The closest of `candidates` to `word`, if one is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(&str, f64)> = None;
    for cand in candidates {
        let score = strsim::jaro_winkler(word, cand);
        if score > 0.8 && best.is_none_or(|(_, s)| score > s) {
            best = Some((cand, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let t = "ab\ncd\nef";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 4), (2, 2));
        assert_eq!(line_col(t, 6), (3, 1));
        assert_eq!(offset_of(t, 2, 2), Some(4));
        assert_eq!(offset_of(t, 3, 1), Some(6));
    }

    #[test]
    fn display_names_file_line_col() {
        let e = Error::new(ErrorKind::Scope, Location::at("s.yaml", 3, 7), "unknown key `colect`");
        assert_eq!(e.to_string(), "s.yaml:3:7: unknown key `colect`");
    }

    #[test]
    fn miette_sees_code_help_and_span() {
        let e = Error::at_offset(ErrorKind::Policy, "p.cedar", "forbid (x);\n", 8, 1, "bad").with_help("fix it");
        assert_eq!(e.code().unwrap().to_string(), "scopecheck::policy");
        assert_eq!(Diagnostic::help(&e).unwrap().to_string(), "fix it");
        let label = e.labels().unwrap().next().unwrap();
        assert_eq!((label.offset(), label.len()), (8, 1));
        assert!(e.source_code().is_some());
    }

    #[test]
    fn suggests_close_words_only() {
        assert_eq!(did_you_mean("colect", ["collect", "never"]), Some("collect"));
        assert_eq!(did_you_mean("zzz", ["collect", "never"]), None);
    }
}
