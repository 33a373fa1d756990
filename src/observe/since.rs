//! `--since` for the commands that look back over time: a span back from now (`30m`, `24h`,
//! `7d`, `2w`) or a UTC date (`2026-11-01`), as milliseconds since the epoch.

/// Why a `--since` cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--since {0}: expected a span such as 7d, 24h, 30m or 2w, or a date such as 2026-11-01")]
pub struct BadSince(pub String);

/// Milliseconds since the epoch for `text`: a span back from `now` (milliseconds), or the start
/// of a UTC date.
pub fn parse_since(text: &str, now: i64) -> Result<i64, BadSince> {
    let bad = || BadSince(text.to_string());
    let text = text.trim();
    if let Some(unit) = text.chars().last().filter(|c| c.is_ascii_alphabetic()) {
        let number: i64 = text[..text.len() - 1].parse().map_err(|_| bad())?;
        let seconds = match unit {
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => return Err(bad()),
        };
        return Ok(now.saturating_sub(number.max(0).saturating_mul(seconds * 1000)));
    }
    let parts: Vec<&str> = text.split('-').collect();
    let [y, m, d] = parts.as_slice() else {
        return Err(bad());
    };
    let (y, m, d): (i64, i64, i64) = (
        y.parse().map_err(|_| bad())?,
        m.parse().map_err(|_| bad())?,
        d.parse().map_err(|_| bad())?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return Err(bad());
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Ok(days * 86_400 * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_spans_and_dates() {
        let now = 1_000_000_000_000;
        assert_eq!(parse_since("7d", now).unwrap(), now - 7 * 86_400_000);
        assert_eq!(parse_since("24h", now).unwrap(), now - 86_400_000);
        assert_eq!(parse_since("30m", now).unwrap(), now - 30 * 60_000);
        assert_eq!(parse_since("2w", now).unwrap(), now - 14 * 86_400_000);
        assert_eq!(parse_since("1970-01-02", now).unwrap(), 86_400_000);
        assert_eq!(parse_since("2026-11-25", now).unwrap(), 1_795_564_800_000);
        for bad in ["7x", "d", "yesterday", "2026-13-01", "2026-11", ""] {
            assert!(parse_since(bad, now).is_err(), "{bad}");
        }
        assert_eq!(
            parse_since("7x", now).unwrap_err().to_string(),
            "--since 7x: expected a span such as 7d, 24h, 30m or 2w, or a date such as 2026-11-01"
        );
    }
}
