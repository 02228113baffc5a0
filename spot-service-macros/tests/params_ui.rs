//! Compile tests for `#[derive(DictParams)]` and `#[derive(OneOfParams)]`: `ui/params_pass` must
//! build and run, `ui/params_fail` must fail with the checked-in `.stderr`. Regenerate those with
//! `TRYBUILD=overwrite cargo test -p spot-service-macros --test params_ui`, then read them.

#[test]
fn params_ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/params_pass/*.rs");
    t.compile_fail("tests/ui/params_fail/*.rs");
}
