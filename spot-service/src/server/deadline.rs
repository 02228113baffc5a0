//! The deadline a gRPC client sends with a call (`grpc-timeout`), which the server enforces as
//! tonic's server does: a call still unanswered when it passes gets CANCELLED, "Timeout expired".

use std::time::Duration;

/// The header carrying the client's deadline.
const GRPC_TIMEOUT: &str = "grpc-timeout";

/// The time the client allows for the call, when it set one the gRPC way (at most 8 digits and
/// a unit: `H`, `M`, `S`, `m`, `u`, `n`). A malformed value is ignored, as tonic and grpc-go do.
pub(crate) fn client_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let value = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    let split = value.len().checked_sub(1)?;
    let (amount, unit) = value.split_at_checked(split)?;
    if amount.is_empty() || amount.len() > 8 || !amount.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = amount.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        headers.insert(GRPC_TIMEOUT, value.parse().unwrap());
        client_timeout(&headers)
    }

    #[test]
    fn every_unit() {
        assert_eq!(parse("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(parse("3M"), Some(Duration::from_secs(180)));
        assert_eq!(parse("4S"), Some(Duration::from_secs(4)));
        assert_eq!(parse("99999999m"), Some(Duration::from_millis(99_999_999)));
        assert_eq!(parse("5u"), Some(Duration::from_micros(5)));
        assert_eq!(parse("6n"), Some(Duration::from_nanos(6)));
    }

    #[test]
    fn malformed_values_are_ignored() {
        for value in [
            "",
            "S",
            "5",
            "5s",
            "123456789S",
            "-5S",
            "+5S",
            "5 S",
            "1.5S",
            "é",
        ] {
            let mut headers = http::HeaderMap::new();
            if let Ok(value) = http::HeaderValue::from_str(value) {
                headers.insert(GRPC_TIMEOUT, value);
            }
            assert_eq!(client_timeout(&headers), None, "{value:?}");
        }
        assert_eq!(client_timeout(&http::HeaderMap::new()), None);
    }
}
