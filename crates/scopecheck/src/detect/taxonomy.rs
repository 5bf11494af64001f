//! The category ids detectors may use: those of the built-in taxonomy (`policies/taxonomy.yaml`),
//! parents included. One source: the taxonomy file, read once.

use std::sync::OnceLock;

/// Every valid category id, parents included, parents before children.
pub fn category_ids() -> &'static [String] {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        // The built-in taxonomy is part of this crate and checked by its tests; were it ever
        // unreadable, no category would be known and every detector's category would be
        // reported as unknown, which is an error the user sees, not a silent pass.
        crate::taxonomy::Taxonomy::builtin().map(|t| t.iter().map(|c| c.id.clone()).collect()).unwrap_or_default()
    })
}

/// Whether `id` is a category of the built-in taxonomy.
pub fn is_known(id: &str) -> bool {
    category_ids().iter().any(|c| c == id)
}
