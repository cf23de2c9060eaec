//! `scripts/setup.sh --check` against fake roots: what it reports missing
//! depends only on the files it is shown, never on the machine running the test.
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A scratch directory standing in for `/`, removed when dropped.
struct FakeRoot(PathBuf);

impl FakeRoot {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("agentkit-setup-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        FakeRoot(dir)
    }

    /// Creates an empty file at `rel`, with parents.
    fn file(&self, rel: &str) -> &Self {
        let path = self.0.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"").unwrap();
        self
    }

    /// Creates an executable at `usr/bin/<name>`.
    fn command(&self, name: &str) -> &Self {
        let path = self.0.join("usr/bin").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, b"#!/bin/sh\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        }
        self
    }

    /// The toolchain every Debian build machine has but for libclang.
    fn with_build_tools(&self) -> &Self {
        self.command("cmake")
            .command("cc")
            .command("c++")
            .command("make")
    }

    /// What `setup.sh --check` says is missing, as a list of package names.
    fn missing(&self) -> Vec<String> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup.sh");
        let out = Command::new("bash")
            .arg(&script)
            .arg("--check")
            .env("AGENTKIT_PREREQ_ROOT", &self.0)
            .env_remove("LIBCLANG_PATH")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "setup.sh --check failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for FakeRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

const HEADERS: &str = "usr/lib/llvm-14/lib/clang/14.0.6/include/stdbool.h";

#[test]
fn an_empty_machine_lacks_everything() {
    let root = FakeRoot::new("empty");
    assert_eq!(root.missing(), ["cmake", "libclang-dev", "build-essential"]);
}

#[test]
fn libclang_cpp_is_not_libclang() {
    // A fresh Debian 12 machine: libclang-cpp14 came with another package.
    let root = FakeRoot::new("cpp-only");
    root.with_build_tools()
        .file("usr/lib/llvm-14/lib/libclang-cpp.so.14")
        .file("usr/lib/x86_64-linux-gnu/libclang-cpp.so.14")
        .file(HEADERS);
    assert_eq!(root.missing(), ["libclang-dev"]);
}

#[test]
fn versioned_libclang_is_enough_with_headers() {
    let root = FakeRoot::new("libclang1");
    root.with_build_tools()
        .file("usr/lib/llvm-14/lib/libclang-cpp.so.14")
        .file("usr/lib/llvm-14/lib/libclang.so.1")
        .file(HEADERS);
    assert!(root.missing().is_empty(), "{:?}", root.missing());
}

#[test]
fn multiarch_libclang_with_version_in_the_name_is_found() {
    let root = FakeRoot::new("multiarch");
    root.with_build_tools()
        .file("usr/lib/x86_64-linux-gnu/libclang-14.so.1")
        .file(HEADERS);
    assert!(root.missing().is_empty(), "{:?}", root.missing());
}

#[test]
fn libclang_without_its_headers_still_needs_the_dev_package() {
    // bindgen would load libclang, then fail on `stdbool.h` not found.
    let root = FakeRoot::new("no-headers");
    root.with_build_tools()
        .file("usr/lib/llvm-14/lib/libclang.so.1");
    assert_eq!(root.missing(), ["libclang-dev"]);
}

#[test]
fn a_c_compiler_without_cplusplus_is_not_enough() {
    let root = FakeRoot::new("no-cxx");
    root.command("cmake")
        .command("cc")
        .command("make")
        .file("usr/lib/llvm-14/lib/libclang.so.1")
        .file(HEADERS);
    assert_eq!(root.missing(), ["build-essential"]);
}

#[test]
fn without_a_package_manager_the_message_says_what_to_install() {
    let root = FakeRoot::new("no-apt");
    // A PATH holding only `id`: no apt-get, no sudo.
    let bin = root.0.join("path-bin");
    fs::create_dir_all(&bin).unwrap();
    let id = ["/usr/bin/id", "/bin/id"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("`id` is part of coreutils");
    std::os::unix::fs::symlink(id, bin.join("id")).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/setup.sh");
    let out = Command::new("/bin/bash")
        .arg(&script)
        .env("AGENTKIT_PREREQ_ROOT", &root.0)
        .env("PATH", &bin)
        .env_remove("LIBCLANG_PATH")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no apt-get on this machine"), "{stderr}");
    assert!(
        stderr
            .contains("apt-get install --no-install-recommends cmake libclang-dev build-essential"),
        "{stderr}"
    );
    assert!(stderr.contains("LIBCLANG_PATH"), "{stderr}");
}
