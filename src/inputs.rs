//! How input text becomes booleans, durations and numbers (and durations
//! text again). The parsers are pure and return [`InputError`], which maps
//! to exit code 2; where values come from is [`crate::settings`].

use std::time::Duration;

/// Bad input or configuration: the user has to change something.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{input}: {message}")]
pub struct InputError {
    pub input: String,
    pub message: String,
}

impl InputError {
    pub fn new(input: &str, message: impl Into<String>) -> Self {
        InputError {
            input: input.to_string(),
            message: message.into(),
        }
    }
}

pub fn parse_bool(input: &str, value: &str) -> Result<bool, InputError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "y" | "on" => Ok(true),
        "false" | "0" | "no" | "n" | "off" => Ok(false),
        _ => Err(InputError::new(
            input,
            format!("'{}' is not a boolean; use true or false", shorten(value)),
        )),
    }
}

/// Accepts plain seconds and jiff's friendly durations (`90s`, `15m`,
/// `1h30m`, `1h 30m`, `1.5h`, `5min`, `500ms`); zero and negative values are
/// refused, since every duration here bounds a wait.
pub fn parse_duration(input: &str, value: &str) -> Result<Duration, InputError> {
    let text = value.trim();
    let bad = |why: &str| {
        InputError::new(
            input,
            format!(
                "'{}' {why}; use seconds (90) or units like 90s, 15m, 1h30m, 1h 30m, 1.5h",
                shorten(value)
            ),
        )
    };
    let duration = match text.parse::<u64>() {
        Ok(secs) => jiff::SignedDuration::from_secs(secs.min(i64::MAX as u64) as i64),
        Err(_) => text
            .parse::<jiff::SignedDuration>()
            .map_err(|_| bad("is not a duration"))?,
    };
    if duration <= jiff::SignedDuration::ZERO {
        return Err(bad("is not more than zero"));
    }
    Duration::try_from(duration).map_err(|_| bad("is not a duration"))
}

pub fn parse_number(input: &str, value: &str, min: u64, max: u64) -> Result<u64, InputError> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(InputError::new(
            input,
            format!(
                "'{}' is not a whole number from {min} to {max}",
                shorten(value)
            ),
        )),
    }
}

/// Keeps echoed input short: a huge value must not flood the log.
pub(crate) fn shorten(value: &str) -> String {
    const MAX: usize = 60;
    let value = value.trim();
    if value.chars().count() <= MAX {
        value.escape_debug().to_string()
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!(
            "{}… ({} characters)",
            head.escape_debug(),
            value.chars().count()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans() {
        for (text, want) in [
            ("true", true),
            ("True", true),
            ("TRUE", true),
            ("1", true),
            ("yes", true),
            ("false", false),
            ("FALSE", false),
            ("0", false),
            ("no", false),
        ] {
            assert_eq!(parse_bool("wait", text).unwrap(), want, "{text}");
        }
        let err = parse_bool("wait", "maybe").unwrap_err();
        assert_eq!(
            err.to_string(),
            "wait: 'maybe' is not a boolean; use true or false"
        );
    }

    #[test]
    fn durations() {
        let d = |s| parse_duration("timeout", s);
        assert_eq!(d("90").unwrap(), Duration::from_secs(90));
        assert_eq!(d("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(d("15m").unwrap(), Duration::from_secs(900));
        assert_eq!(d("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(d("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(d("1h 30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(d("1.5h").unwrap(), Duration::from_secs(5400));
        assert_eq!(d("5min").unwrap(), Duration::from_secs(300));
        assert_eq!(d("2 hours").unwrap(), Duration::from_secs(7200));
        for bad in [
            "",
            "m",
            "1x",
            "-5",
            "-5m",
            "0",
            "0s",
            "s10",
            "99999999999999999999h",
        ] {
            assert!(d(bad).is_err(), "{bad}");
        }
        assert!(d("0").unwrap_err().to_string().contains("more than zero"));
    }

    #[test]
    fn numbers_have_bounds() {
        assert_eq!(parse_number("history", "48", 1, 1000).unwrap(), 48);
        assert!(parse_number("history", "0", 1, 1000).is_err());
        assert!(parse_number("history", "ten", 1, 1000).is_err());
    }

    #[test]
    fn long_values_are_shortened() {
        let long = "x".repeat(500);
        assert!(shorten(&long).ends_with("(500 characters)"));
        assert_eq!(shorten("a\nb"), "a\\nb");
    }
}
