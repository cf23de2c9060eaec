//! Snapshot files for the prompt and schema tests.
//!
//! `assert_snapshot("name", text)` compares `text` with `tests/snapshots/name.txt`.
//! Run with `UPDATE_SNAPSHOTS=1` to (re)write the files, then read the diff
//! before committing it.

use std::path::PathBuf;

fn snapshot_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("snapshots")
        .join(format!("{name}.txt"))
}

/// Asserts that `actual` equals the stored snapshot `name`, or stores it when
/// `UPDATE_SNAPSHOTS=1`.
#[track_caller]
pub fn assert_snapshot(name: &str, actual: &str) {
    let path = snapshot_path(name);
    // Files end in a newline so that editors and diffs leave them alone.
    let actual = format!("{}\n", actual.trim_end_matches('\n'));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create the snapshot directory");
        }
        std::fs::write(&path, &actual).expect("write the snapshot");
        return;
    }
    let expected = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => panic!(
            "snapshot `{}` cannot be read ({e}); run with UPDATE_SNAPSHOTS=1 to create it",
            path.display()
        ),
    };
    if expected != actual {
        panic!(
            "snapshot `{}` differs (- stored, + actual); if the change is intended, \
             rerun with UPDATE_SNAPSHOTS=1 and review the file's diff\n{}",
            path.display(),
            line_diff(&expected, &actual)
        );
    }
}

/// A line diff of two short texts: `-` lines only in `old`, `+` lines only in
/// `new`, two spaces for lines in both (longest common subsequence).
pub fn line_diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[test]
fn line_diff_marks_changed_lines() {
    assert_eq!(line_diff("a\nb\nc", "a\nx\nc"), "  a\n- b\n+ x\n  c\n");
    assert_eq!(line_diff("a", "a\nb"), "  a\n+ b\n");
    assert_eq!(line_diff("a\nb", "b"), "- a\n  b\n");
}
