//! Packet timestamps and their textual forms. All time in the program is
//! packet time, so output is a pure function of the input.

use super::decimal::{push_2, two_digits};

/// A packet timestamp: seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn new(secs: i64, nanos: u32) -> Self {
        Timestamp {
            secs: secs + i64::from(nanos / 1_000_000_000),
            nanos: nanos % 1_000_000_000,
        }
    }

    pub fn from_micros(us: i64) -> Self {
        Timestamp::new(
            us.div_euclid(1_000_000),
            (us.rem_euclid(1_000_000) * 1000) as u32,
        )
    }

    /// Total microseconds since the epoch.
    pub fn as_micros(self) -> i64 {
        self.secs
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(self.nanos / 1000))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) / 1e9
    }

    /// Signed difference `self - earlier` in microseconds.
    pub fn micros_since(self, earlier: Timestamp) -> i64 {
        self.as_micros().saturating_sub(earlier.as_micros())
    }

    /// Civil UTC date and time: (year, month, day, hour, minute, second).
    pub fn civil(self) -> (i64, u32, u32, u32, u32, u32) {
        let days = self.secs.div_euclid(86_400);
        let sod = self.secs.rem_euclid(86_400) as u32;
        let (y, m, d) = civil_from_days(days);
        (y, m, d, sod / 3600, (sod / 60) % 60, sod % 60)
    }

    /// RFC 5424 TIMESTAMP: `2026-04-21T16:35:50.123456+00:00`.
    pub fn write_rfc5424(self, out: &mut Vec<u8>) {
        self.write_date_time(out, b'T');
        self.write_fraction(out);
    }

    /// `.uuuuuu+00:00`, the end of the RFC 5424 TIMESTAMP.
    fn write_fraction(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.rfc5424_fraction());
    }

    /// The text [`Self::write_fraction`] writes.
    pub fn rfc5424_fraction(self) -> [u8; 13] {
        let us = self.nanos / 1000;
        let mut tail = *b".000000+00:00";
        for (i, pair) in [us / 10_000, us / 100, us].into_iter().enumerate() {
            tail[1 + 2 * i..3 + 2 * i].copy_from_slice(&two_digits(pair));
        }
        tail
    }

    /// DECNET's JSON `timestamp`: `2026-04-21 16:35:50`.
    pub fn write_json_time(self, out: &mut Vec<u8>) {
        self.write_date_time(out, b' ');
    }

    /// `YYYY-MM-DD<sep>hh:mm:ss`, filled into one fixed buffer: this runs
    /// twice per event, and `format!` here was a visible share of output time.
    fn write_date_time(self, out: &mut Vec<u8>, sep: u8) {
        let (y, mo, d, h, mi, s) = self.civil();
        let Ok(year @ 0..=9999) = u32::try_from(y) else {
            // Outside four digits: keep std's rendering (`-001`, `10000`).
            out.extend_from_slice(format!("{y:04}").as_bytes());
            for (sep, v) in [(b'-', mo), (b'-', d), (sep, h), (b':', mi), (b':', s)] {
                out.push(sep);
                push_2(out, v);
            }
            return;
        };
        let mut text = *b"0000-00-00T00:00:00";
        text[..2].copy_from_slice(&two_digits(year / 100));
        text[2..4].copy_from_slice(&two_digits(year));
        text[10] = sep;
        for (i, v) in [mo, d, h, mi, s].into_iter().enumerate() {
            text[5 + 3 * i..7 + 3 * i].copy_from_slice(&two_digits(v));
        }
        out.extend_from_slice(&text);
    }

    /// [`Self::write_rfc5424`] with the date and time of day from `cache`.
    pub fn write_rfc5424_cached(self, cache: &mut DateTimeCache, out: &mut Vec<u8>) {
        match cache.get(self.secs) {
            Some(text) => out.extend_from_slice(text),
            None => self.write_date_time(out, b'T'),
        }
        self.write_fraction(out);
    }

    /// [`Self::write_json_time`] with the text from `cache`.
    pub fn write_json_time_cached(self, cache: &mut DateTimeCache, out: &mut Vec<u8>) {
        match cache.get(self.secs) {
            Some(text) => {
                out.extend_from_slice(&text[..10]);
                out.push(b' ');
                out.extend_from_slice(&text[11..]);
            }
            None => self.write_json_time(out),
        }
    }

    /// RFC 3339 UTC with microseconds: `2026-04-21T16:35:50.123456Z`.
    pub fn rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = self.civil();
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
            self.nanos / 1000
        )
    }
}

/// The `YYYY-MM-DDThh:mm:ss` text of the last second asked for: events
/// come thousands to a second, so the calendar arithmetic runs once per
/// second instead of twice per event.
#[derive(Debug, Clone)]
pub struct DateTimeCache {
    secs: i64,
    text: Option<[u8; 19]>,
}

impl Default for DateTimeCache {
    fn default() -> Self {
        DateTimeCache {
            secs: i64::MIN,
            text: None,
        }
    }
}

impl DateTimeCache {
    /// The text for `secs` (`YYYY-MM-DDThh:mm:ss`), when its year has four
    /// digits (others take [`Timestamp`]'s own path).
    pub fn get(&mut self, secs: i64) -> Option<&[u8; 19]> {
        if secs != self.secs {
            let mut text = Vec::with_capacity(24);
            Timestamp::new(secs, 0).write_date_time(&mut text, b'T');
            self.secs = secs;
            self.text = <[u8; 19]>::try_from(text.as_slice()).ok();
        }
        self.text.as_ref()
    }
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's algorithm).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instant() {
        // 2026-04-21T16:35:50Z = 1776789350 (date -u -d @1776789350)
        let ts = Timestamp::new(1_776_789_350, 123_456_789);
        let mut out = Vec::new();
        ts.write_rfc5424(&mut out);
        assert_eq!(out, b"2026-04-21T16:35:50.123456+00:00");
        let mut out = Vec::new();
        ts.write_json_time(&mut out);
        assert_eq!(out, b"2026-04-21 16:35:50");
    }

    #[test]
    fn digit_writer_matches_format() {
        for secs in [
            0i64,
            951_782_400,
            4_102_444_799,
            253_402_300_800,
            -62_198_755_200,
        ] {
            for nanos in [0u32, 999, 1_000, 5_000_001, 999_999_999] {
                let ts = Timestamp::new(secs, nanos);
                let (y, mo, d, h, mi, s) = ts.civil();
                let us = ts.nanos / 1000;
                let mut out = Vec::new();
                ts.write_rfc5424(&mut out);
                assert_eq!(
                    out,
                    format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{us:06}+00:00").as_bytes()
                );
                let mut out = Vec::new();
                ts.write_json_time(&mut out);
                assert_eq!(
                    out,
                    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}").as_bytes()
                );
            }
        }
    }

    #[test]
    fn cached_text_matches() {
        let mut cache = DateTimeCache::default();
        for secs in [
            0i64,
            0,
            1,
            1_776_789_350,
            1_776_789_350,
            -62_198_755_200,
            253_402_300_800,
            253_402_300_799,
            1,
        ] {
            for nanos in [0u32, 999, 5_000_001, 999_999_999] {
                let ts = Timestamp::new(secs, nanos);
                let (mut a, mut b) = (Vec::new(), Vec::new());
                ts.write_rfc5424(&mut a);
                ts.write_rfc5424_cached(&mut cache, &mut b);
                assert_eq!(a, b);
                let (mut a, mut b) = (Vec::new(), Vec::new());
                ts.write_json_time(&mut a);
                ts.write_json_time_cached(&mut cache, &mut b);
                assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn epoch_and_leap_day() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2024-02-29 is day 19782 since the epoch.
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
    }
}
