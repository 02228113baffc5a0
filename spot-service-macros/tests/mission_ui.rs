//! Compile tests for `#[remote_mission]`: `ui/mission_pass` must build and run, `ui/mission_fail`
//! must fail with the checked-in `.stderr`. Regenerate those with `TRYBUILD=overwrite cargo test
//! -p spot-service-macros --test mission_ui`, then read them.

#[test]
fn mission_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/mission_pass/*.rs");
    t.compile_fail("tests/ui/mission_fail/*.rs");
}
