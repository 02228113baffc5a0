//! Parameter messages printed the way Python's `str(message)` prints a protobuf message (its
//! text format), so that the official messages that embed a message read the same:
//! `Param value: 1.5\n has type ...`, `... the required minimum value: 3\n`.
//!
//! Fields at their default are omitted, as text format does; map entries are printed in key
//! order (Python prints them in the order of the message it parsed, which a Rust `HashMap` does
//! not keep, so messages with several map entries may order them differently).

use std::fmt::Write as _;

use crate::proto::bosdyn::api::area_i::Geometry;
use crate::proto::bosdyn::api::custom_param::Value;
use crate::proto::bosdyn::api::{
    AreaI, CustomParam, DictParam, ListParam, OneOfParam, RegionOfInterestParam,
};

/// A text-format writer: one `name: value` or `name {` ... `}` per line, indented by 2.
#[derive(Default)]
struct Text {
    out: String,
    depth: usize,
}

impl Text {
    fn line(&mut self, text: &str) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
        self.out.push_str(text);
        self.out.push('\n');
    }

    fn scalar(&mut self, name: &str, value: impl std::fmt::Display) {
        self.line(&format!("{name}: {value}"));
    }

    fn int(&mut self, name: &str, value: i64) {
        if value != 0 {
            self.scalar(name, value);
        }
    }

    fn string(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.scalar(name, string(value));
        }
    }

    fn message(&mut self, name: &str, body: impl FnOnce(&mut Self)) {
        self.line(&format!("{name} {{"));
        self.depth += 1;
        body(self);
        self.depth -= 1;
        self.line("}");
    }
}

/// A `double` as text format prints it: C's `%.15g` if that reads back the same value, else
/// `%.17g` (`1`, `1.5`, `0.30000000000000004`, `1e+20`, `-0`, `inf`, `nan`).
pub(crate) fn double(value: f64) -> String {
    if value.is_nan() {
        return "nan".to_owned();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let short = format_g(value, 15);
    if short.parse::<f64>().ok() == Some(value) {
        short
    } else {
        format_g(value, 17)
    }
}

/// C's `%.{precision}g` for a finite value.
fn format_g(value: f64, precision: usize) -> String {
    // `{:.*e}` rounds to `precision` significant digits and tells the exponent after rounding.
    let scientific = format!("{:.*e}", precision - 1, value);
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes an integer exponent");
    let trim = |digits: &str| -> String {
        if digits.contains('.') {
            digits
                .trim_end_matches('0')
                .trim_end_matches('.')
                .to_owned()
        } else {
            digits.to_owned()
        }
    };
    let precision = i32::try_from(precision).unwrap_or(17);
    if (-4..precision).contains(&exponent) {
        let decimals = usize::try_from(precision - 1 - exponent).unwrap_or(0);
        trim(&format!("{value:.decimals$}"))
    } else {
        let sign = if exponent < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mantissa), exponent.abs())
    }
}

/// A string literal as text format writes it: double quotes; `\n`, `\r`, `\t`, `\"`, `\'` and
/// `\\` escaped; other control characters as 3-digit octal; the rest as is.
pub(crate) fn string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '"' => out.push_str("\\\""),
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 || u32::from(c) == 0x7f => {
                // Cannot fail: writing to a `String`.
                let _ = write!(out, "\\{:03o}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `google.protobuf.Int64Value` (`value: 3\n`; empty for 0).
pub(crate) fn int64_value(value: i64) -> String {
    let mut text = Text::default();
    text.int("value", value);
    text.out
}

/// The value of a `CustomParam` (the message inside its `value` oneof), e.g. `value: 1.5\n`.
pub(crate) fn value(value: &Value) -> String {
    let mut text = Text::default();
    write_value_body(&mut text, value);
    text.out
}

fn write_value_body(text: &mut Text, value: &Value) {
    match value {
        Value::IntValue(param) => text.int("value", param.value),
        Value::DoubleValue(param) => {
            if param.value.to_bits() != 0 {
                text.scalar("value", double(param.value));
            }
        }
        Value::StringValue(param) => text.string("value", &param.value),
        Value::BoolValue(param) => {
            if param.value {
                text.scalar("value", "true");
            }
        }
        Value::DictValue(param) => write_dict(text, param),
        Value::ListValue(param) => write_list(text, param),
        Value::OneOfValue(param) => write_one_of(text, param),
        Value::RoiValue(param) => write_roi(text, param),
    }
}

fn write_custom_param(text: &mut Text, param: &CustomParam) {
    let Some(value) = &param.value else {
        return;
    };
    let name = match value {
        Value::DictValue(_) => "dict_value",
        Value::ListValue(_) => "list_value",
        Value::IntValue(_) => "int_value",
        Value::DoubleValue(_) => "double_value",
        Value::StringValue(_) => "string_value",
        Value::RoiValue(_) => "roi_value",
        Value::BoolValue(_) => "bool_value",
        Value::OneOfValue(_) => "one_of_value",
    };
    text.message(name, |text| write_value_body(text, value));
}

fn write_dict(text: &mut Text, param: &DictParam) {
    let mut keys: Vec<&String> = param.values.keys().collect();
    keys.sort();
    for key in keys {
        text.message("values", |text| {
            text.scalar("key", string(key));
            text.message("value", |text| write_custom_param(text, &param.values[key]));
        });
    }
}

fn write_list(text: &mut Text, param: &ListParam) {
    for element in &param.values {
        text.message("values", |text| write_custom_param(text, element));
    }
}

fn write_one_of(text: &mut Text, param: &OneOfParam) {
    text.string("key", &param.key);
    let mut keys: Vec<&String> = param.values.keys().collect();
    keys.sort();
    for key in keys {
        text.message("values", |text| {
            text.scalar("key", string(key));
            text.message("value", |text| write_dict(text, &param.values[key]));
        });
    }
}

fn write_roi(text: &mut Text, param: &RegionOfInterestParam) {
    if let Some(area) = &param.area {
        text.message("area", |text| write_area(text, area));
    }
    if let Some(source) = &param.service_and_source {
        text.message("service_and_source", |text| {
            text.string("service", &source.service);
            text.string("source", &source.source);
        });
    }
    text.int("image_cols", i64::from(param.image_cols));
    text.int("image_rows", i64::from(param.image_rows));
}

fn write_area(text: &mut Text, area: &AreaI) {
    match &area.geometry {
        Some(Geometry::Rectangle(rectangle)) => text.message("rectangle", |text| {
            text.int("x", i64::from(rectangle.x));
            text.int("y", i64::from(rectangle.y));
            text.int("cols", i64::from(rectangle.cols));
            text.int("rows", i64::from(rectangle.rows));
        }),
        Some(Geometry::Polygon(polygon)) => text.message("polygon", |text| {
            for vertex in &polygon.vertices {
                text.message("vertices", |text| {
                    text.int("x", i64::from(vertex.x));
                    text.int("y", i64::from(vertex.y));
                });
            }
        }),
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::bosdyn::api::{BoolParam, DoubleParam, Int64Param, StringParam};

    /// Each case was printed by Python (`str(msg)`, protobuf 7.36 with bosdyn-api 5.2.0).
    #[test]
    fn doubles_print_like_text_format() {
        for (value, python) in [
            (1.5, "1.5"),
            (1.0, "1"),
            (1e20, "1e+20"),
            (1e-7, "1e-07"),
            (0.1, "0.1"),
            (123_456_789.123, "123456789.123"),
            (5e-5, "5e-05"),
            (1e-4, "0.0001"),
            (123_456_789_012_345.0, "123456789012345"),
            (1_234_567_890_123_456.0, "1234567890123456"),
            (0.300_000_000_000_000_04, "0.30000000000000004"),
            (2.5e-308, "2.5e-308"),
            (-0.0, "-0"),
            (100.0, "100"),
            (1e15, "1e+15"),
            (1e16, "1e+16"),
            (f64::INFINITY, "inf"),
            (f64::NAN, "nan"),
        ] {
            assert_eq!(double(value), python, "{value}");
        }
    }

    #[test]
    fn messages_print_like_text_format() {
        let int = |value| Value::IntValue(Int64Param { value });
        assert_eq!(value(&int(5)), "value: 5\n");
        assert_eq!(value(&int(0)), "");
        assert_eq!(
            value(&Value::DoubleValue(DoubleParam { value: -0.0 })),
            "value: -0\n"
        );
        assert_eq!(value(&Value::DoubleValue(DoubleParam { value: 0.0 })), "");
        assert_eq!(
            value(&Value::StringValue(StringParam {
                value: "h\u{e9}llo \"x\"\n\t\\ \u{1}".into()
            })),
            "value: \"h\u{e9}llo \\\"x\\\"\\n\\t\\\\ \\001\"\n"
        );
        assert_eq!(
            value(&Value::StringValue(StringParam {
                value: "a'b\rc\u{7f}~".into()
            })),
            "value: \"a\\'b\\rc\\177~\"\n"
        );
        assert_eq!(
            value(&Value::BoolValue(BoolParam { value: true })),
            "value: true\n"
        );
        assert_eq!(value(&Value::BoolValue(BoolParam { value: false })), "");
        assert_eq!(int64_value(3), "value: 3\n");

        let dict = DictParam {
            values: [(
                "b".to_owned(),
                CustomParam {
                    value: Some(int(2)),
                },
            )]
            .into(),
        };
        assert_eq!(
            value(&Value::DictValue(dict.clone())),
            "values {\n  key: \"b\"\n  value {\n    int_value {\n      value: 2\n    }\n  }\n}\n"
        );
        let one_of = OneOfParam {
            key: "k".into(),
            values: [("k".to_owned(), DictParam::default())].into(),
        };
        assert_eq!(
            value(&Value::OneOfValue(one_of)),
            "key: \"k\"\nvalues {\n  key: \"k\"\n  value {\n  }\n}\n"
        );
        let list = ListParam {
            values: vec![CustomParam {
                value: Some(Value::BoolValue(BoolParam { value: true })),
            }],
        };
        assert_eq!(
            value(&Value::ListValue(list)),
            "values {\n  bool_value {\n    value: true\n  }\n}\n"
        );
    }
}
