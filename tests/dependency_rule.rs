//! The architecture's trust boundary, enforced: the validator and the
//! runtime may depend on `pcc` and external crates only — never, directly or
//! through another crate, on the frontend or the backend.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;

/// Workspace crates that must stay out of the checkers' dependency closure.
const PRODUCERS: &[&str] = &["frontend", "backend"];

fn closure(packages: &HashMap<String, Vec<String>>, root: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![root.to_string()];
    while let Some(p) = stack.pop() {
        for dep in packages.get(&p).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                stack.push(dep.clone());
            }
        }
    }
    seen
}

/// Edges between workspace crates, read from the manifests (`--no-deps`, so
/// this needs neither the network nor platform-specific packages). External
/// crates cannot depend on ours, so the closure through workspace edges is the
/// whole story. Dev-dependencies count too: a checker's tests must not pull the
/// compiler in either.
fn workspace_graph() -> HashMap<String, Vec<String>> {
    let out = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let mut graph = HashMap::new();
    for package in meta["packages"].as_array().expect("packages") {
        let name = package["name"].as_str().expect("package name").to_string();
        let deps = package["dependencies"]
            .as_array()
            .expect("dependencies")
            .iter()
            .filter(|d| d["path"].is_string())
            .map(|d| d["name"].as_str().expect("dependency name").to_string())
            .collect();
        graph.insert(name, deps);
    }
    graph
}

#[test]
fn validator_and_runtime_do_not_depend_on_the_compiler() {
    let graph = workspace_graph();
    for checker in ["validator", "runtime"] {
        assert!(
            graph.contains_key(checker),
            "{checker} missing from cargo metadata"
        );
        let deps = closure(&graph, checker);
        assert!(
            deps.contains("pcc"),
            "{checker} should depend on pcc: {deps:?}"
        );
        for producer in PRODUCERS {
            assert!(
                !deps.contains(*producer),
                "{checker} depends on {producer} (closure: {deps:?})"
            );
        }
    }
}

#[test]
fn the_graph_reader_sees_real_edges() {
    // Guards the test above against a parser that finds no edges at all.
    let graph = workspace_graph();
    let pccc = closure(&graph, "pccc");
    for c in ["frontend", "backend", "validator", "runtime", "pcc"] {
        assert!(pccc.contains(c), "pccc should depend on {c}: {pccc:?}");
    }
    assert!(closure(&graph, "frontend").contains("backend"));
}
