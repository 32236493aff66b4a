//! A problem found in a package: which file, which line, what, and the package-spec
//! code when the rule has one. One type for the loader (`crate::package::load`, which
//! the server and `publish` run) and the validator (`epr-spec`), printed the same way
//! by both: `file:line: message (code)`.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Path relative to the package root (`manifest.yml`, `data_stream/x/fields/a.yml`);
    /// empty for problems about the package as a whole.
    pub file: String,
    /// 1-based line in `file`; 0 when there is none (JSON files, whole-file problems).
    pub line: usize,
    pub message: String,
    /// A package-spec error code such as `SVR00004`.
    pub code: Option<&'static str>,
}

impl Problem {
    /// A problem about the whole package.
    pub fn package(message: impl Into<String>) -> Problem {
        Problem {
            file: String::new(),
            line: 0,
            message: message.into(),
            code: None,
        }
    }

    /// A problem in `file` (no line).
    pub fn file(file: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line: 0,
            message: message.into(),
            code: None,
        }
    }

    /// A problem at `line` of `file`.
    pub fn at(file: impl Into<String>, line: usize, message: impl Into<String>) -> Problem {
        Problem {
            file: file.into(),
            line,
            message: message.into(),
            code: None,
        }
    }

    /// Attaches a package-spec code.
    pub fn with_code(mut self, code: &'static str) -> Problem {
        self.code = Some(code);
        self
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.file.is_empty(), self.line) {
            (true, _) => {}
            (false, 0) => write!(f, "{}: ", self.file)?,
            (false, line) => write!(f, "{}:{line}: ", self.file)?,
        }
        f.write_str(&self.message)?;
        if let Some(code) = self.code {
            write!(f, " ({code})")?;
        }
        Ok(())
    }
}
