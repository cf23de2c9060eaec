//! Compile-fail and compile-pass tests of `#[agent]` and of chains.
//!
//! Regenerate the `.stderr` snapshots with `TRYBUILD=overwrite cargo test -p
//! agentkit-tests --test ui`, then read every one: each error must point at
//! the tokens the user got wrong.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
