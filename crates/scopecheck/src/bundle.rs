//! Bundles: everything the runtime plugin needs to decide, in one file.
//!
//! A bundle is a JSON object, the *container*:
//!
//! ```json
//! {"format": "scopecheck-bundle", "format_version": 1, "scopecheck_version": "0.1.0",
//!  "sha256": "<hex digest of the payload string's UTF-8 bytes>", "payload": "<JSON text>"}
//! ```
//!
//! The payload is kept as a string so its digest is over exact bytes, whoever wrote the file.
//! It holds the declared scope (and the store inventory, if any), the taxonomy, every detector
//! definition (built-in and the team's own) and every Cedar rule file (the built-in rules and the
//! team's own), as texts, and the options of the decision. Loading re-validates all of it, so a
//! bundle that loads is a bundle whose rules passed strict validation against this version's
//! Cedar schema.
//!
//! A bundle of a newer `format_version` is refused with a message naming both versions; a
//! bundle whose digest does not match its payload is refused as corrupt. Nothing is half-loaded.

use crate::decide::{DecideOptions, Mode};
use crate::error::{Error, ErrorKind, Location, Result};
use crate::eval::{Engine, Options};
use crate::rules::{BUILTIN_FILE, BUILTIN_SRC, RulePack, SCHEMA_SRC, Severity};
use crate::{Setup, Source, detect, detector_error, taxonomy};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The container's `format` value.
pub const FORMAT: &str = "scopecheck-bundle";
/// The bundle format this library writes and reads. 2: the Cedar schema's contexts carry
/// `subject_kind` and `subject_declared` (the person's id is never in them).
pub const FORMAT_VERSION: u32 = 2;
/// Largest bundle accepted (bytes).
pub const MAX_BUNDLE_BYTES: usize = 16 * 1024 * 1024;

/// A named text inside a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    /// The file it came from (used in messages).
    pub name: String,
    /// Its contents.
    pub text: String,
}

impl Text {
    /// (name, text).
    fn named(&self) -> (&str, &str) {
        (&self.name, &self.text)
    }
}

impl From<&Source> for Text {
    fn from(s: &Source) -> Self {
        Text { name: s.name.clone(), text: s.text.clone() }
    }
}

/// Options carried by a bundle.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BundleOptions {
    /// Detections below this confidence are ignored.
    pub min_confidence: f32,
    /// Evidence samples kept per finding.
    pub max_evidence: usize,
    /// Put raw evidence in decisions (off: evidence is redacted).
    pub show_evidence: bool,
    /// `enforce` or `monitor`.
    pub mode: Mode,
    /// Findings below this severity are reported but do not change the decision.
    pub act_on: Severity,
}

impl Default for BundleOptions {
    fn default() -> Self {
        let o = Options::default();
        let d = DecideOptions::default();
        BundleOptions {
            min_confidence: o.min_confidence,
            max_evidence: o.max_evidence,
            show_evidence: o.show_evidence,
            mode: d.mode,
            act_on: d.act_on,
        }
    }
}

/// What a bundle holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Payload {
    /// The declared scope (YAML).
    pub scope: Text,
    /// The observed store inventory, if one was given.
    #[serde(default)]
    pub stores: Option<Text>,
    /// The category taxonomy (YAML).
    pub taxonomy: Text,
    /// Detector definitions (YAML), built-in first.
    pub detectors: Vec<Text>,
    /// Cedar rule files, the built-in rules first (unless left out).
    pub policies: Vec<Text>,
    /// Rule ids switched off.
    #[serde(default)]
    pub disable: Vec<String>,
    /// sha256 of the Cedar schema the rules were validated against.
    pub schema_sha256: String,
    /// Options.
    #[serde(default)]
    pub options: BundleOptions,
}

/// The container as written to disk.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Container {
    format: String,
    format_version: u32,
    #[serde(default)]
    scopecheck_version: String,
    sha256: String,
    payload: String,
}

/// Only the version fields, read first so a newer format is refused before anything else.
#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    format_version: Option<u32>,
    #[serde(default)]
    scopecheck_version: Option<String>,
}

/// Hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut s = String::with_capacity(64);
    for b in digest {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

fn bundle_error(file: &str, message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Bundle, Location::file(file), message)
}

/// A loaded, checked bundle.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// What it holds.
    pub payload: Payload,
    /// The digest of its payload (hex sha256): identifies the bundle in reports.
    pub digest: String,
    /// The scopecheck version that wrote it.
    pub scopecheck_version: String,
}

impl Bundle {
    /// Packs a setup (as the CLI reads it) with these options. Validates everything first:
    /// a bundle is only written when it would load.
    pub fn from_setup(setup: &Setup, options: BundleOptions) -> Result<Bundle> {
        let Some(scope_src) = &setup.scope else {
            return Err(Error::new(ErrorKind::Scope, Location::file("--scope"), "no scope given")
                .with_help("pass the declared scope with `--scope scope.yaml`"));
        };
        let mut policies = Vec::new();
        if !setup.no_builtin_rules {
            policies.push(Text { name: BUILTIN_FILE.to_string(), text: BUILTIN_SRC.to_string() });
        }
        policies.extend(setup.policies.iter().map(Text::from));
        let mut detectors =
            vec![Text { name: detect::BUILTIN_NAME.to_string(), text: detect::BUILTIN_YAML.to_string() }];
        detectors.extend(setup.detectors.iter().map(Text::from));
        let payload = Payload {
            scope: Text::from(scope_src),
            stores: setup.stores.as_ref().map(Text::from),
            taxonomy: Text {
                name: "<builtin>/policies/taxonomy.yaml".to_string(),
                text: taxonomy::BUILTIN_TAXONOMY.to_string(),
            },
            detectors,
            policies,
            disable: setup.disable.clone(),
            schema_sha256: sha256_hex(SCHEMA_SRC.as_bytes()),
            options,
        };
        let bundle = Bundle::from_payload(payload)?;
        bundle.engine()?;
        Ok(bundle)
    }

    /// Wraps a payload (computes its digest).
    pub fn from_payload(payload: Payload) -> Result<Bundle> {
        let text = serde_json::to_string(&payload).map_err(|e| Error::internal(format!("bundle payload: {e}")))?;
        Ok(Bundle { payload, digest: sha256_hex(text.as_bytes()), scopecheck_version: crate_version().to_string() })
    }

    /// The bundle file's bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let payload =
            serde_json::to_string(&self.payload).map_err(|e| Error::internal(format!("bundle payload: {e}")))?;
        let c = Container {
            format: FORMAT.to_string(),
            format_version: FORMAT_VERSION,
            scopecheck_version: self.scopecheck_version.clone(),
            sha256: sha256_hex(payload.as_bytes()),
            payload,
        };
        let mut out = serde_json::to_vec(&c).map_err(|e| Error::internal(format!("bundle: {e}")))?;
        out.push(b'\n');
        Ok(out)
    }

    /// Reads a bundle file's bytes (`file` names it in messages). Checks the format, its version
    /// and the digest; does not build the engine (see [`Bundle::engine`]).
    pub fn from_bytes(bytes: &[u8], file: &str) -> Result<Bundle> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(bundle_error(
                file,
                format!("the bundle is {} bytes, over the {MAX_BUNDLE_BYTES} byte limit", bytes.len()),
            ));
        }
        let header: Header = serde_json::from_slice(bytes).map_err(|e| {
            bundle_error(file, format!("not a scopecheck bundle (truncated or corrupt: {e})"))
                .with_help("rebuild it with `scopecheck bundle --scope … -o FILE`")
        })?;
        if header.format.as_deref() != Some(FORMAT) {
            return Err(bundle_error(file, "not a scopecheck bundle (no `\"format\": \"scopecheck-bundle\"`)")
                .with_help("rebuild it with `scopecheck bundle --scope … -o FILE`"));
        }
        let Some(version) = header.format_version else {
            return Err(bundle_error(file, "the bundle has no `format_version`"));
        };
        if version > FORMAT_VERSION {
            return Err(bundle_error(
                file,
                format!(
                    "the bundle is format version {version} (written by scopecheck {}), newer than this plugin reads \
                     (format version {FORMAT_VERSION}, scopecheck {}); it was not loaded",
                    header.scopecheck_version.as_deref().unwrap_or("?"),
                    crate_version()
                ),
            )
            .with_help("upgrade the plugin, or rebuild the bundle with this version's `scopecheck bundle`"));
        }
        if version < FORMAT_VERSION {
            return Err(bundle_error(
                file,
                format!(
                    "the bundle is format version {version} (written by scopecheck {}), older than this plugin reads \
                     (format version {FORMAT_VERSION}, scopecheck {}): its rules were checked against an older \
                     Cedar schema; it was not loaded",
                    header.scopecheck_version.as_deref().unwrap_or("?"),
                    crate_version()
                ),
            )
            .with_help("rebuild the bundle from its scope and rules with this version's `scopecheck bundle`"));
        }
        let c: Container = serde_json::from_slice(bytes)
            .map_err(|e| bundle_error(file, format!("the bundle container is malformed: {e}")))?;
        let digest = sha256_hex(c.payload.as_bytes());
        if !digest.eq_ignore_ascii_case(c.sha256.trim()) {
            return Err(bundle_error(
                file,
                format!("the bundle is corrupt: its payload's sha256 is {digest}, the bundle says {}", c.sha256),
            )
            .with_help("rebuild it with `scopecheck bundle`; do not edit bundles by hand"));
        }
        let payload: Payload = serde_json::from_str(&c.payload)
            .map_err(|e| bundle_error(file, format!("the bundle payload is malformed: {e}")))?;
        if payload.schema_sha256 != sha256_hex(SCHEMA_SRC.as_bytes()) {
            return Err(bundle_error(
                file,
                format!(
                    "the bundle's rules were validated against another Cedar schema (scopecheck {}); this is scopecheck {}",
                    c.scopecheck_version,
                    crate_version()
                ),
            )
            .with_help("rebuild the bundle with this version's `scopecheck bundle`"));
        }
        Ok(Bundle { payload, digest, scopecheck_version: c.scopecheck_version })
    }

    /// Builds the decision engine from the bundle's texts (validates the scope, the rules in
    /// strict mode, the detectors and the taxonomy).
    pub fn engine(&self) -> Result<Engine> {
        let p = &self.payload;
        let taxonomy = taxonomy::Taxonomy::from_yaml(&p.taxonomy.text, &p.taxonomy.name)?;
        crate::Parts {
            taxonomy,
            scope: p.scope.named(),
            rules: RulePack::schema_only()?,
            policies: p.policies.iter().map(Text::named).collect(),
            disable: &p.disable,
            detectors: detect::Detectors::empty().map_err(detector_error)?,
            detector_files: p.detectors.iter().map(Text::named).collect(),
            stores: p.stores.as_ref().map(Text::named),
            options: Options {
                min_confidence: p.options.min_confidence,
                show_evidence: p.options.show_evidence,
                max_evidence: p.options.max_evidence,
            },
        }
        .build()
    }

    /// The decision options the bundle asks for.
    pub fn decide_options(&self) -> DecideOptions {
        DecideOptions {
            mode: self.payload.options.mode,
            act_on: self.payload.options.act_on,
            ..DecideOptions::default()
        }
    }
}

/// This library's version.
pub fn crate_version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: &str = "program: demo\nnotice: https://example.invalid/n\ncollect:\n  - field: a\n    category: behavior.app_interaction\n    purposes: [analytics]\n";

    fn setup() -> Setup {
        Setup { scope: Some(Source::new("scope.yaml", SCOPE)), ..Setup::default() }
    }

    #[test]
    fn round_trip() {
        let b = Bundle::from_setup(&setup(), BundleOptions::default()).unwrap();
        let bytes = b.to_bytes().unwrap();
        let back = Bundle::from_bytes(&bytes, "b").unwrap();
        assert_eq!(back.payload, b.payload);
        assert_eq!(back.digest, b.digest);
        back.engine().unwrap();
    }

    #[test]
    fn refuses_newer_format_truncated_and_corrupt() {
        let b = Bundle::from_setup(&setup(), BundleOptions::default()).unwrap();
        let bytes = b.to_bytes().unwrap();
        let e = Bundle::from_bytes(bytes.get(..bytes.len() / 2).unwrap(), "b").unwrap_err();
        assert!(e.message.contains("truncated or corrupt"), "{e}");
        let text = String::from_utf8(bytes.clone()).unwrap();
        let newer = text.replace("\"format_version\":2", "\"format_version\":7");
        let e = Bundle::from_bytes(newer.as_bytes(), "b").unwrap_err();
        assert!(e.message.contains("format version 7") && e.message.contains("newer"), "{e}");
        let corrupt = text.replace("program: demo", "program: dem0");
        let e = Bundle::from_bytes(corrupt.as_bytes(), "b").unwrap_err();
        assert!(e.message.contains("corrupt"), "{e}");
        assert!(Bundle::from_bytes(b"{\"format\":\"other\"}", "b").is_err());
        let older = text.replace("\"format_version\":2", "\"format_version\":1");
        let e = Bundle::from_bytes(older.as_bytes(), "b").unwrap_err();
        assert!(e.message.contains("format version 1") && e.message.contains("older"), "{e}");
        assert!(e.help.unwrap().contains("scopecheck bundle"));
    }
}
