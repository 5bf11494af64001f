//! scopecheck: hold a data-collection program's declared scope against what it really captured.
pub mod abi;
pub mod audit;
pub mod baseline;
pub mod bundle;
mod bytes;
mod capture;
pub mod decide;
pub mod detect;
pub mod docs;
pub mod drift;
pub mod error;
pub mod eval;
pub mod generate;
pub mod input;
pub mod labels;
pub mod lint;
pub mod observe;
pub mod pattern;
pub mod people;
pub mod person;
pub mod policytest;
pub mod report;
pub mod rules;
pub mod scope;
pub mod simulate;
pub mod target;
pub mod taxonomy;
pub mod window;

pub use error::{Error, ErrorKind, Location, Result};

use std::sync::Arc;

/// Where a text came from, for messages.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file name as the user gave it.
    pub name: String,
    /// Its contents.
    pub text: String,
}

impl Source {
    /// A named text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        Source { name: name.into(), text: text.into() }
    }

    /// (name, text).
    pub(crate) fn named(&self) -> (&str, &str) {
        (&self.name, &self.text)
    }
}

/// Everything an audit or a plugin needs, as texts (no file access here, so the
/// same code runs inside the WASM plugin).
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// The declared scope (YAML).
    pub scope: Option<Source>,
    /// The observed store inventory (YAML or JSON).
    pub stores: Option<Source>,
    /// Extra Cedar rule files.
    pub policies: Vec<Source>,
    /// Leave out the built-in rules.
    pub no_builtin_rules: bool,
    /// Rule ids to switch off.
    pub disable: Vec<String>,
    /// Extra detector definitions (YAML).
    pub detectors: Vec<Source>,
    /// Options.
    pub options: eval::Options,
}

impl Setup {
    /// Loads and checks everything; errors name the file and position.
    pub fn build(&self) -> Result<eval::Engine> {
        let taxonomy = taxonomy::Taxonomy::builtin()?;
        let Some(scope_src) = &self.scope else {
            return Err(Error::new(ErrorKind::Scope, Location::file("--scope"), "no scope given")
                .with_help("pass the declared scope with `--scope scope.yaml`"));
        };
        Parts {
            taxonomy,
            scope: scope_src.named(),
            rules: if self.no_builtin_rules { rules::RulePack::schema_only()? } else { rules::RulePack::builtin()? },
            policies: self.policies.iter().map(Source::named).collect(),
            disable: &self.disable,
            detectors: detect::Detectors::builtin().map_err(detector_error)?,
            detector_files: self.detectors.iter().map(Source::named).collect(),
            stores: self.stores.as_ref().map(Source::named),
            options: self.options,
        }
        .build()
    }

    /// Builds an auditor ready to take input.
    pub fn auditor(&self) -> Result<audit::Auditor> {
        let engine = Arc::new(self.build()?);
        audit::Auditor::new(engine, audit::AuditOptions::default())
    }
}

/// What an engine is made of, the files as (name, text). [`Setup::build`] and
/// [`bundle::Bundle::engine`] both assemble through it, so a bundle builds the engine the audit builds.
pub(crate) struct Parts<'a> {
    pub taxonomy: taxonomy::Taxonomy,
    pub scope: (&'a str, &'a str),
    /// The rules to start from (the built-in rules, or the schema alone).
    pub rules: rules::RulePack,
    pub policies: Vec<(&'a str, &'a str)>,
    pub disable: &'a [String],
    /// The detectors to start from (the built-in ones, or none).
    pub detectors: detect::Detectors,
    pub detector_files: Vec<(&'a str, &'a str)>,
    pub stores: Option<(&'a str, &'a str)>,
    pub options: eval::Options,
}

impl Parts<'_> {
    /// Loads and checks everything, in this order: scope, rules, detectors, store inventory.
    pub(crate) fn build(self) -> Result<eval::Engine> {
        use report::{InputDigest, InputRole};
        let digest = |role, (name, text): (&str, &str)| InputDigest {
            role,
            file: name.to_string(),
            sha256: bundle::sha256_hex(text.as_bytes()),
            bytes: text.len() as u64,
        };
        let mut inputs = vec![digest(InputRole::Scope, self.scope)];
        inputs.extend(self.stores.map(|s| digest(InputRole::Stores, s)));
        // The shipped rules and detectors are covered by `rules_sha256` and the version.
        inputs.extend(
            self.policies.iter().filter(|(n, _)| *n != rules::BUILTIN_FILE).map(|p| digest(InputRole::Policy, *p)),
        );
        inputs.extend(
            self.detector_files
                .iter()
                .filter(|(n, _)| *n != detect::BUILTIN_NAME)
                .map(|d| digest(InputRole::Detectors, *d)),
        );
        let (name, text) = self.scope;
        let scope = scope::CompiledScope::load(text, name, &self.taxonomy)?;
        let mut rules = self.rules;
        for (name, text) in self.policies {
            rules.add_source(text, name)?;
        }
        rules.disable(self.disable)?;
        let mut detectors = self.detectors;
        for (name, text) in self.detector_files {
            detectors.add_yaml(text, name).map_err(detector_error)?;
        }
        let inventory = match self.stores {
            Some((name, text)) => observe::parse_inventory(text, name)?,
            None => Vec::new(),
        };
        let rules_sha256 = rules.digest(self.disable);
        let mut engine = eval::Engine::new(scope, self.taxonomy, detectors, rules, inventory, self.options);
        engine.inputs = inputs;
        engine.rules_sha256 = rules_sha256;
        Ok(engine)
    }
}

/// Turns a detector definition error into ours.
pub fn detector_error(e: detect::DetectorError) -> Error {
    let (origin, line, column) = match e.position() {
        Some(p) => (p.origin.clone(), Some(p.line), Some(p.column)),
        None => ("<detectors>".to_string(), None, None),
    };
    let full = e.to_string();
    let prefix = match (line, column) {
        (Some(l), Some(c)) => format!("{origin}:{l}:{c}: "),
        _ => String::new(),
    };
    let message = full.strip_prefix(&prefix).unwrap_or(&full).to_string();
    let help = miette::Diagnostic::help(&e).map(|h| h.to_string());
    let mut err = Error::new(ErrorKind::Detectors, Location { file: origin, line, column }, message);
    err.help = help.or_else(|| Some("see the format described at the top of policies/detectors.yaml".into()));
    err
}
