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

fn workspace_graph() -> HashMap<String, Vec<String>> {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--offline"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cargo metadata");
    assert!(out.status.success(), "cargo metadata failed: {}", String::from_utf8_lossy(&out.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let name_of: HashMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut graph = HashMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve graph") {
        let name = name_of[node["id"].as_str().unwrap()].to_string();
        let deps = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .map(|d| name_of[d["pkg"].as_str().unwrap()].to_string())
            .collect();
        graph.insert(name, deps);
    }
    graph
}

#[test]
fn validator_and_runtime_do_not_depend_on_the_compiler() {
    let graph = workspace_graph();
    for checker in ["validator", "runtime"] {
        assert!(graph.contains_key(checker), "{checker} missing from cargo metadata");
        let deps = closure(&graph, checker);
        assert!(deps.contains("pcc"), "{checker} should depend on pcc: {deps:?}");
        for producer in PRODUCERS {
            assert!(!deps.contains(*producer), "{checker} depends on {producer} (closure: {deps:?})");
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
