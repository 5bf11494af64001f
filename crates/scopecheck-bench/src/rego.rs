//! The same capture-event checks written in Rego (`rego/scopecheck.rego`), run by regorus: the
//! OPA-style alternative a user would otherwise write. The scope and the taxonomy are passed as
//! data once; each event is the input of one evaluation of `data.scopecheck.violations`.

use crate::Pair;
use scopecheck::target::TargetKind;
use std::collections::BTreeSet;

/// The policy.
pub const POLICY: &str = include_str!("../rego/scopecheck.rego");

/// A regorus engine with the policy and the scope loaded.
pub struct Rego {
    engine: regorus::Engine,
    rule: String,
}

fn kind_of(s: &str) -> Option<TargetKind> {
    Some(match s {
        "field" => TargetKind::Field,
        "source" => TargetKind::Source,
        "subject_kind" => TargetKind::SubjectKind,
        "store" => TargetKind::Store,
        _ => return None,
    })
}

impl Rego {
    /// Loads the policy, and the engine's scope and taxonomy as data. The policy is the one
    /// built in, or the file `SCOPECHECK_BENCH_REGO` names (to try changes without a rebuild).
    pub fn new(engine: &scopecheck::eval::Engine) -> Result<Rego, String> {
        let policy = match std::env::var_os("SCOPECHECK_BENCH_REGO") {
            Some(p) => std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.to_string_lossy()))?,
            None => POLICY.to_string(),
        };
        let mut e = regorus::Engine::new();
        e.add_policy("scopecheck.rego".into(), policy).map_err(|e| format!("rego policy: {e}"))?;
        let taxonomy: serde_json::Map<String, serde_json::Value> =
            engine.taxonomy.iter().map(|c| (c.id.clone(), serde_json::Value::from(c.sensitivity))).collect();
        let scope = serde_json::to_value(&engine.scope.raw).map_err(|e| e.to_string())?;
        let data = serde_json::json!({ "scope": scope, "taxonomy": taxonomy });
        let value = regorus::Value::from_json_str(&data.to_string()).map_err(|e| e.to_string())?;
        e.add_data(value).map_err(|e| format!("rego data: {e}"))?;
        Ok(Rego { engine: e, rule: "data.scopecheck.violations".into() })
    }

    /// The (rule, target) pairs one event fires.
    pub fn line(&mut self, line: &str) -> Result<BTreeSet<Pair>, String> {
        self.engine.set_input_json(line).map_err(|e| format!("rego input: {e}"))?;
        let v = self.engine.eval_rule(self.rule.clone()).map_err(|e| format!("rego eval: {e}"))?;
        let mut out = BTreeSet::new();
        let Ok(set) = v.as_set() else {
            // No violation: the rule is undefined or empty.
            return Ok(out);
        };
        for item in set.iter() {
            let a = item.as_array().map_err(|e| e.to_string())?;
            let s = |i: usize| -> Result<String, String> {
                a.get(i).ok_or("short violation")?.as_string().map(|s| s.to_string()).map_err(|e| e.to_string())
            };
            let kind = s(1)?;
            out.insert(Pair {
                rule: s(0)?,
                kind: kind_of(&kind).ok_or_else(|| format!("unknown target kind {kind}"))?,
                target: s(2)?,
            });
        }
        Ok(out)
    }
}
