//! Compile tests for `#[spot_service]`: `ui/pass` must build and run, `ui/fail` must fail with the
//! checked-in `.stderr`. Regenerate those with `TRYBUILD=overwrite cargo test -p
//! spot-service-macros --test ui`, then read them.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass/*.rs");
    t.compile_fail("tests/ui/fail/*.rs");
}
