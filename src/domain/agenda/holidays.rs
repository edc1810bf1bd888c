//! French public holidays (jours fériés, metropolitan France): the fixed ones
//! and those that follow Easter (Easter Monday, Ascension, Whit Monday).

use chrono::{Datelike, Duration, NaiveDate};

/// Easter Sunday in the Gregorian calendar (anonymous Gregorian computus,
/// Meeus/Jones/Butcher).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    NaiveDate::from_ymd_opt(year, month as u32, day as u32).expect("valid Easter date")
}

/// The eleven public holidays of a year, in date order, with their French name.
pub fn french_holidays(year: i32) -> Vec<(NaiveDate, &'static str)> {
    let ymd = |m, d| NaiveDate::from_ymd_opt(year, m, d).expect("valid date");
    let easter = easter_sunday(year);
    let mut v = vec![
        (ymd(1, 1), "Jour de l’an"),
        (easter + Duration::days(1), "Lundi de Pâques"),
        (ymd(5, 1), "Fête du Travail"),
        (ymd(5, 8), "Victoire 1945"),
        (easter + Duration::days(39), "Ascension"),
        (easter + Duration::days(50), "Lundi de Pentecôte"),
        (ymd(7, 14), "Fête nationale"),
        (ymd(8, 15), "Assomption"),
        (ymd(11, 1), "Toussaint"),
        (ymd(11, 11), "Armistice 1918"),
        (ymd(12, 25), "Noël"),
    ];
    v.sort();
    v
}

/// The name of the holiday falling on `d`, if any.
pub fn holiday_name(d: NaiveDate) -> Option<&'static str> {
    french_holidays(d.year())
        .into_iter()
        .find(|(h, _)| *h == d)
        .map(|(_, n)| n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn easter_known_years() {
        // Published dates of Easter Sunday.
        for (y, m, day) in [
            (1818, 3, 22),
            (1943, 4, 25),
            (2000, 4, 23),
            (2008, 3, 23),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
        ] {
            assert_eq!(easter_sunday(y), d(y, m, day), "Easter {y}");
        }
    }

    #[test]
    fn holidays_2024_and_2026() {
        let h = french_holidays(2024);
        assert_eq!(h.len(), 11);
        assert_eq!(holiday_name(d(2024, 4, 1)), Some("Lundi de Pâques"));
        assert_eq!(holiday_name(d(2024, 5, 9)), Some("Ascension"));
        assert_eq!(holiday_name(d(2024, 5, 20)), Some("Lundi de Pentecôte"));
        assert_eq!(holiday_name(d(2024, 11, 11)), Some("Armistice 1918"));
        assert_eq!(holiday_name(d(2024, 11, 12)), None);
        assert_eq!(holiday_name(d(2026, 5, 14)), Some("Ascension"));
        assert_eq!(holiday_name(d(2026, 5, 25)), Some("Lundi de Pentecôte"));
        assert!(h.windows(2).all(|w| w[0].0 < w[1].0));
    }
}
