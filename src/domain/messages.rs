//! Outgoing messages (SMS and e-mail notices): their life cycle, when to
//! retry, when a reminder goes out, and how long a text message is.

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Europe::Paris;

use super::agenda::holidays::holiday_name;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        match s {
            "sms" => Some(Channel::Sms),
            "email" => Some(Channel::Email),
            _ => None,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Channel::Sms => "SMS",
            Channel::Email => "Courriel",
        }
    }
}

/// Where a message stands: its receipt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Waiting for its time or for a sender.
    Queued,
    /// Taken by one process, being handed to the provider.
    Sending,
    /// Accepted by the provider (or the SMTP relay).
    Sent,
    /// The provider reported it delivered to the phone.
    Delivered,
    /// Refused, bounced, or retried too many times.
    Failed,
    /// Withdrawn before it went (a registration cancelled before its reminder).
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Queued,
        Status::Sending,
        Status::Sent,
        Status::Delivered,
        Status::Failed,
        Status::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Queued => "queued",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Delivered => "delivered",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Queued => "en attente",
            Status::Sending => "en cours d’envoi",
            Status::Sent => "envoyé",
            Status::Delivered => "remis",
            Status::Failed => "échec",
            Status::Cancelled => "annulé",
        }
    }
}

/// Attempts before a message is given up.
pub const MAX_ATTEMPTS: i64 = 5;

/// How long to wait after the `attempts`-th failed attempt, or `None` when
/// the message is given up: 1 min, 5 min, 30 min, 2 h.
pub fn retry_delay(attempts: i64) -> Option<Duration> {
    if attempts >= MAX_ATTEMPTS {
        return None;
    }
    Some(match attempts {
        ..=1 => Duration::minutes(1),
        2 => Duration::minutes(5),
        3 => Duration::minutes(30),
        _ => Duration::hours(2),
    })
}

/// The hour reminders go out, Paris time.
pub const REMINDER_HOUR: u32 = 10;

/// When the reminder of something starting at `starts_at` goes out:
/// `days_before` days earlier at 10:00 Paris time, moved back to the day
/// before while that day is a Sunday or a public holiday (nobody wants a
/// text on Sunday or on 1 May; the earlier working day is still a reminder).
pub fn reminder_at(starts_at: DateTime<Utc>, days_before: u32) -> DateTime<Utc> {
    let local = starts_at.with_timezone(&Paris).date_naive();
    let mut day = local - Duration::days(i64::from(days_before));
    while day.weekday() == Weekday::Sun || holiday_name(day).is_some() {
        day -= Duration::days(1);
    }
    let at = day.and_time(NaiveTime::from_hms_opt(REMINDER_HOUR, 0, 0).unwrap_or_default());
    Paris
        .from_local_datetime(&at)
        .earliest()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or(starts_at - Duration::days(i64::from(days_before)))
}

/// The characters of the GSM 03.38 default alphabet (and its extension
/// table, which costs two): a text made only of them fits 160 per SMS,
/// otherwise the phone gets UCS-2 and 70.
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXT: &str = "^{}\\[~]|€\u{c}";

/// Number of SMS parts a text takes, and whether it needs Unicode.
pub fn sms_parts(text: &str) -> (usize, bool) {
    let mut septets = 0usize;
    let mut unicode = false;
    for c in text.chars() {
        if GSM7.contains(c) {
            septets += 1;
        } else if GSM7_EXT.contains(c) {
            septets += 2;
        } else {
            unicode = true;
            break;
        }
    }
    if unicode {
        let units = text.encode_utf16().count();
        return (if units <= 70 { 1 } else { units.div_ceil(67) }, true);
    }
    (
        if septets <= 160 {
            1
        } else {
            septets.div_ceil(153)
        },
        false,
    )
}

/// Make a French text fit the GSM alphabet where a close letter exists
/// (`ê` → `e`, `’` → `'`, `«` → `"`), so that an SMS costs one part instead
/// of three; letters of other alphabets are kept.
pub fn gsm_friendly(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            'â' | 'á' | 'ã' => 'a',
            'ê' | 'ë' => 'e',
            'î' | 'ï' | 'í' => 'i',
            'ô' | 'ó' | 'õ' => 'o',
            'û' | 'ú' => 'u',
            'ç' => 'c',
            'À' | 'Â' => 'A',
            'È' | 'Ê' | 'Ë' => 'E',
            'Î' | 'Ï' => 'I',
            'Ô' => 'O',
            'Û' | 'Ù' => 'U',
            '’' | '‘' => '\'',
            '«' | '»' | '“' | '”' => '"',
            '–' | '—' => '-',
            '\u{a0}' | '\u{202f}' => ' ',
            '…' => '.',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn paris(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Paris
            .from_local_datetime(
                &NaiveDate::from_ymd_opt(y, m, d)
                    .unwrap()
                    .and_hms_opt(h, 0, 0)
                    .unwrap(),
            )
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn retries_are_bounded_and_spaced() {
        assert_eq!(retry_delay(1), Some(Duration::minutes(1)));
        assert_eq!(retry_delay(2), Some(Duration::minutes(5)));
        assert_eq!(retry_delay(4), Some(Duration::hours(2)));
        assert_eq!(retry_delay(MAX_ATTEMPTS), None);
    }

    #[test]
    fn reminders_avoid_sundays_and_holidays() {
        // Wednesday 9 December 2026 at 14:00: the day before, 10:00.
        assert_eq!(
            reminder_at(paris(2026, 12, 9, 14), 1),
            paris(2026, 12, 8, 10)
        );
        // Two days before a Tuesday is a Sunday: Saturday instead.
        assert_eq!(
            reminder_at(paris(2026, 12, 8, 14), 2),
            paris(2026, 12, 5, 10)
        );
        // The day before Friday 15 May 2026 is Ascension (Thursday 14 May):
        // Wednesday instead.
        assert_eq!(
            reminder_at(paris(2026, 5, 15, 9), 1),
            paris(2026, 5, 13, 10)
        );
        // The day before Monday 2 November 2026 is a Sunday, and Saturday
        // 31 October is not a holiday.
        assert_eq!(
            reminder_at(paris(2026, 11, 2, 9), 1),
            paris(2026, 10, 31, 10)
        );
        // Across the change to winter time the hour stays 10:00 in Paris.
        assert_eq!(
            reminder_at(paris(2026, 10, 26, 9), 1).to_rfc3339(),
            "2026-10-24T08:00:00+00:00"
        );
    }

    #[test]
    fn sms_lengths() {
        assert_eq!(sms_parts("Bonjour"), (1, false));
        assert_eq!(sms_parts(&"a".repeat(160)), (1, false));
        assert_eq!(sms_parts(&"a".repeat(161)), (2, false));
        assert_eq!(sms_parts("€").0, 1);
        assert_eq!(sms_parts(&"€".repeat(81)), (2, false));
        assert_eq!(sms_parts("rendez-vous à 14 h, séance annulée"), (1, false));
        assert_eq!(sms_parts("prévue à l’accueil"), (1, true));
        assert_eq!(
            sms_parts(&gsm_friendly("prévue à l’accueil, fenêtre")),
            (1, false)
        );
        assert_eq!(sms_parts(&"ê".repeat(71)), (2, true));
    }
}
