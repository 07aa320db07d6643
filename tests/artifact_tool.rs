//! `pccc artifact dump|build`: the round trip is byte-identical for compiled
//! artifacts, bad input is exit 2 with a message (never a panic), `-` is
//! stdin/stdout, the library's relayout keeps the artifact consistent, and
//! the README documents the commands and the JSON shape.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use pccc::artifact_tool::{self, ArtifactJson, Layout};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn pccc(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pccc"))
        // Not the user's verification cache.
        .env(
            "PCCC_CACHE_DIR",
            std::env::temp_dir().join("pccc-test-cache"),
        )
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run pccc");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("pccc-artifact-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

fn compiled(wat: &str) -> Vec<u8> {
    let wasm = wat::parse_file(root().join(wat)).unwrap();
    pccc::compile_bytes(&wasm, &backend::CompileOptions::default())
        .unwrap()
        .to_elf()
}

const MODULES: [&str; 2] = ["examples/fib.wat", "tests/modules/pressure.wat"];

#[test]
fn library_round_trip_is_byte_identical() {
    for m in MODULES {
        let elf = compiled(m);
        let json = artifact_tool::dump(&elf).unwrap();
        assert_eq!(artifact_tool::build(&json).unwrap(), elf, "{m}");
        // Through the JSON text as well.
        let text = artifact_tool::to_json(&json);
        let back = artifact_tool::from_json(&text).unwrap();
        assert_eq!(back, json, "{m}");
        assert_eq!(artifact_tool::build(&back).unwrap(), elf, "{m}");
        // Auto layout recomputes what the compiler wrote.
        let mut auto = back.clone();
        auto.layout = Layout::Auto;
        for f in &mut auto.functions {
            f.offset = None;
            f.size = None;
        }
        assert_eq!(
            artifact_tool::build(&auto).unwrap(),
            elf,
            "{m} (auto layout)"
        );
    }
}

#[test]
fn cli_round_trip_files_and_stdio() {
    let dir = scratch("round");
    for m in MODULES {
        let art = dir.0.join("a.o");
        let o = pccc(
            &[
                "compile",
                root().join(m).to_str().unwrap(),
                "-o",
                art.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let elf = std::fs::read(&art).unwrap();
        // Files.
        let json = dir.0.join("a.json");
        let back = dir.0.join("b.o");
        let o = pccc(
            &[
                "artifact",
                "dump",
                art.to_str().unwrap(),
                "-o",
                json.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let o = pccc(
            &[
                "artifact",
                "build",
                json.to_str().unwrap(),
                "-o",
                back.to_str().unwrap(),
            ],
            None,
        );
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(std::fs::read(&back).unwrap(), elf, "{m}: files");
        // stdout by default, `-` for stdin and stdout.
        let dumped = pccc(&["artifact", "dump", art.to_str().unwrap()], None);
        assert!(dumped.status.success());
        assert_eq!(dumped.stdout, std::fs::read(&json).unwrap());
        let dumped2 = pccc(&["artifact", "dump", "-", "-o", "-"], Some(&elf));
        assert_eq!(dumped2.stdout, dumped.stdout);
        let built = pccc(&["artifact", "build", "-", "-o", "-"], Some(&dumped.stdout));
        assert!(
            built.status.success(),
            "{}",
            String::from_utf8_lossy(&built.stderr)
        );
        assert_eq!(built.stdout, elf, "{m}: stdio");
        // The rebuilt artifact verifies like the original.
        let o = pccc(&["verify", back.to_str().unwrap()], None);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

/// Exit 2, an `error:` naming the problem, no panic.
fn bad(args: &[&str], stdin: &[u8], want: &str) {
    let o = pccc(args, Some(stdin));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains("error:") && err.contains(want),
        "{args:?}: want {want:?} in {err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

fn fib_json() -> ArtifactJson {
    artifact_tool::dump(&compiled("examples/fib.wat")).unwrap()
}

#[test]
fn bad_input_is_exit_2() {
    let build = ["artifact", "build", "-", "-o", "-"];
    bad(&build, b"{", "invalid artifact JSON");
    bad(&build, b"\xff\xfe", "not UTF-8");
    bad(&build, b"{\"format\": 1}", "invalid artifact JSON");
    let mut j = fib_json();
    j.functions[0].code_hex = "55zz".into();
    bad(
        &build,
        artifact_tool::to_json(&j).as_bytes(),
        "not a hex digit",
    );
    let mut j = fib_json();
    j.functions[0].code_hex = "555".into();
    bad(
        &build,
        artifact_tool::to_json(&j).as_bytes(),
        "odd number of hex digits",
    );
    let mut j = fib_json();
    j.functions[1].offset = Some(j.functions[1].offset.unwrap() + 1);
    bad(&build, artifact_tool::to_json(&j).as_bytes(), "offset");
    let mut j = fib_json();
    j.functions[0].size = Some(1);
    bad(&build, artifact_tool::to_json(&j).as_bytes(), "size 1");
    let mut j = fib_json();
    j.format = "something else".into();
    bad(&build, artifact_tool::to_json(&j).as_bytes(), "format");
    let mut j = fib_json();
    j.layout = Layout::Auto;
    j.metadata.funcs.pop();
    bad(
        &build,
        artifact_tool::to_json(&j).as_bytes(),
        "named entries",
    );
    bad(
        &["artifact", "dump", "-"],
        b"not an elf",
        "invalid pccc artifact",
    );
    bad(
        &["artifact", "dump", "/nonexistent/a.o"],
        b"",
        "cannot read",
    );
    bad(
        &["artifact", "build", "/nonexistent/a.json", "-o", "-"],
        b"",
        "cannot read",
    );
}

#[test]
fn replace_function_moves_what_follows() {
    let elf = compiled("examples/fib.wat");
    let mut j = artifact_tool::dump(&elf).unwrap();
    let before = j.metadata.funcs.clone();
    let code = j.code(0).unwrap();
    let traps: Vec<(u32, pcc::TrapCode)> = j
        .metadata
        .trap_sites
        .iter()
        .filter(|t| t.func == 0)
        .map(|t| (t.offset, t.code))
        .collect();
    let facts = j
        .facts
        .iter()
        .find(|f| f.func == 0)
        .unwrap()
        .entries
        .clone();
    // Four bytes of nop at the end of function 0 (after its last ud2).
    let mut longer = code.clone();
    longer.extend_from_slice(&[0x90; 4]);
    j.replace_function(0, &longer, &traps, facts).unwrap();
    assert_eq!(j.metadata.funcs[0].size, before[0].size + 4);
    for (a, b) in j.metadata.funcs.iter().zip(&before).skip(1) {
        assert_eq!(a.offset, b.offset + 4, "{}", a.name);
    }
    for (s, f) in j.symbols.iter().zip(&j.metadata.funcs) {
        assert_eq!((s.offset, s.size), (f.offset as u64, f.size as u64));
    }
    let bytes = artifact_tool::build(&j).unwrap();
    let back = pcc::ArtifactFile::parse(&bytes).unwrap();
    assert_eq!(back.meta, j.metadata);
    // fib makes direct calls only to itself (function 0), which moved with it.
    let report = validator::verify(&bytes).unwrap();
    assert!(report.accepted(), "{:?}", report.failures);
}

#[test]
fn readme_documents_the_assembler() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("## Artifact assembler")
        .nth(1)
        .expect("README has an \"Artifact assembler\" section");
    let section = section.split("\n## ").next().unwrap();
    for want in [
        "pccc artifact dump",
        "pccc artifact build",
        "\"format\": \"pccc-artifact-json/1\"",
        "\"layout\"",
        "\"functions\"",
        "\"code_hex\"",
        "\"disasm\"",
        "\"symbols\"",
        "\"metadata\"",
        "\"facts\"",
        "\"auto\"",
        "replace_function",
    ] {
        assert!(section.contains(want), "README's section lacks {want}");
    }
    assert_eq!(artifact_tool::FORMAT, "pccc-artifact-json/1");
    // The JSON shape shown is the one `dump` writes.
    let json: serde_json::Value =
        serde_json::from_str(&artifact_tool::to_json(&fib_json())).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(|k| k.as_str())
        .collect();
    for k in keys {
        assert!(
            section.contains(&format!("\"{k}\"")),
            "README lacks key {k}"
        );
    }
    let f = json["functions"][0].as_object().unwrap();
    for k in f.keys() {
        assert!(
            section.contains(&format!("\"{k}\"")),
            "README lacks function key {k}"
        );
    }
}
