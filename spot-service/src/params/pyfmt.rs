//! Formatting values the way Python prints them, so that error messages read exactly like the
//! official `bosdyn-client` ones (`Value 0.5 below min_bound 1.0`, `options ['a', 'b']`).

use std::fmt::Write as _;

/// A float as Python's `repr(float)` (and `str(float)`) prints it: `1.0`, `0.1`, `1e-05`,
/// `1e+16`, `inf`, `nan`.
pub(crate) fn float(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    // Rust's `Debug` switches to exponent notation at the same thresholds as Python's `repr`
    // (below 1e-4 and from 1e16) and also prints the shortest round-tripping digits; only the
    // exponent is written differently (`1e-5` / `1e-05`, `1e16` / `1e+16`).
    let debug = format!("{value:?}");
    let Some((mantissa, exponent)) = debug.split_once('e') else {
        return debug;
    };
    let (sign, digits) = match exponent.strip_prefix('-') {
        Some(digits) => ('-', digits),
        None => ('+', exponent),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// A string as Python's `repr(str)` prints it: `'World'`, `"it's"`, `'a\nb'`.
pub(crate) fn str_repr(value: &str) -> String {
    let quote = if value.contains('\'') && !value.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let code = u32::from(c);
                // Cannot fail: writing to a `String`.
                let _ = if code <= 0xff {
                    write!(out, "\\x{code:02x}")
                } else {
                    write!(out, "\\u{code:04x}")
                };
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// A list of strings as Python prints a `list` (or a repeated string field): `['a', 'b']`.
pub(crate) fn str_list<S: AsRef<str>>(values: &[S]) -> String {
    let items: Vec<String> = values.iter().map(|v| str_repr(v.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// A set of strings as Python prints a `set`: `{'a', 'b'}` (sorted here, so that messages are
/// deterministic; Python's order is arbitrary).
pub(crate) fn str_set<S: AsRef<str>>(values: &[S]) -> String {
    let mut items: Vec<String> = values.iter().map(|v| str_repr(v.as_ref())).collect();
    items.sort();
    format!("{{{}}}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_python_repr() {
        let cases: [(f64, &str); 14] = [
            (1.0, "1.0"),
            (0.1, "0.1"),
            (0.3, "0.3"),
            (1e-5, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e-4, "0.0001"),
            (1e15, "1000000000000000.0"),
            (1e16, "1e+16"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (1e300, "1e+300"),
            (5e-324, "5e-324"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (value, python) in cases {
            assert_eq!(float(value), python, "{value:?}");
        }
        assert_eq!(float(f64::NAN), "nan");
        assert_eq!(float(f64::from(f32::MAX)), "3.4028234663852886e+38");
    }

    #[test]
    fn strings_print_like_python_repr() {
        assert_eq!(str_repr("World"), "'World'");
        assert_eq!(str_repr(""), "''");
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("it's \"x\""), "'it\\'s \"x\"'");
        assert_eq!(str_repr("a\\b\nc\td\r"), "'a\\\\b\\nc\\td\\r'");
        assert_eq!(str_repr("\u{1}\u{7f}"), "'\\x01\\x7f'");
        assert_eq!(str_repr("héllo"), "'héllo'");
        assert_eq!(str_list(&["World", "Bob"]), "['World', 'Bob']");
        assert_eq!(str_list::<&str>(&[]), "[]");
        assert_eq!(str_set(&["b", "a"]), "{'a', 'b'}");
        assert_eq!(str_set(&["a"]), "{'a'}");
    }
}
