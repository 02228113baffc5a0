//! Embeds the bosdyn `.proto` sources from the workspace's `protos/` directory, so that users'
//! own `.proto` files can `import "bosdyn/api/header.proto"` without having the files on disk.

use std::{env, fs, io::Write, path::Path};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, String)>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(&path, root, out);
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            let name = path
                .strip_prefix(root)
                .expect("under root")
                .to_string_lossy()
                .replace('\\', "/");
            let abs = fs::canonicalize(&path).expect("canonical path");
            out.push((name, abs.to_string_lossy().into_owned()));
        }
    }
}

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR");
    // In the workspace the sources live in ../protos. (A published crate would have to carry a
    // copy in ./protos, which is looked for second.)
    let candidates = [
        Path::new(&manifest).join("../protos"),
        Path::new(&manifest).join("protos"),
    ];
    let root = candidates
        .iter()
        .find(|p| p.join("bosdyn/api/header.proto").exists())
        .expect("bosdyn .proto sources not found (expected ../protos/bosdyn/api)");
    println!("cargo:rerun-if-changed={}", root.join("bosdyn").display());

    let mut files = Vec::new();
    collect(&root.join("bosdyn"), root, &mut files);

    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("embedded_protos.rs");
    let mut f = fs::File::create(&out).expect("create embedded_protos.rs");
    writeln!(f, "/// The bosdyn `.proto` sources: (import name, source).").unwrap();
    writeln!(f, "pub(crate) static BOSDYN_PROTOS: &[(&str, &str)] = &[").unwrap();
    for (name, abs) in &files {
        writeln!(f, "    ({name:?}, include_str!({abs:?})),").unwrap();
    }
    writeln!(f, "];").unwrap();
}
