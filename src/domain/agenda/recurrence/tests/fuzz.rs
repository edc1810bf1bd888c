//! Property tests: no input typed in the RRULE field panics, and a rule
//! chosen in the form comes back from its RRULE, its words and storage.

use super::*;
use proptest::prelude::*;

fn weekday() -> impl Strategy<Value = Weekday> {
    (0u8..7).prop_map(|i| Weekday::try_from(i).unwrap())
}

/// Pieces of RRULE text, valid and not.
fn part() -> impl Strategy<Value = String> {
    let code = proptest::sample::select(vec![
        "MO", "TU", "WE", "TH", "FR", "SA", "SU", "XX", "", "1", "€",
    ]);
    prop_oneof![
        proptest::sample::select(vec![
            "FREQ=WEEKLY",
            "FREQ=DAILY",
            "FREQ=MONTHLY",
            "FREQ=YEARLY",
            "FREQ=HOURLY",
            "FREQ=MINUTELY",
            "FREQ=SECONDLY",
            "FREQ=",
            "RRULE:",
            "WKST=SU",
            "BYHOUR=10",
            "BYMINUTE=0",
            "UNTIL=20261231T235959Z",
            "UNTIL=20261231",
            "UNTIL=19000101T000000Z",
            "UNTIL=99991231T235959Z",
            "UNTIL=2026",
            ";",
            "=",
            " ",
            "rrule:freq=weekly;byday=mo",
        ])
        .prop_map(str::to_owned),
        (
            proptest::sample::select(vec![
                "INTERVAL",
                "COUNT",
                "BYMONTHDAY",
                "BYMONTH",
                "BYSETPOS",
                "BYWEEKNO",
                "BYYEARDAY",
            ]),
            prop_oneof![
                -400i64..400,
                Just(0i64),
                Just(i64::MAX),
                Just(i64::MIN),
                Just(u32::MAX as i64 + 1),
            ]
        )
            .prop_map(|(k, v)| format!("{k}={v}")),
        (-6i64..7, code.clone()).prop_map(|(n, c)| format!("BYDAY={n}{c}")),
        (code.clone(), code).prop_map(|(a, b)| format!("BYDAY={a},{b}")),
        "[ -~]{0,12}",
        any::<String>(),
    ]
}

fn rule() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::collection::vec(part(), 0..7).prop_map(|v| v.join(";")),
        // Mostly well-formed: a frequency, then a few parts.
        (
            proptest::sample::select(vec!["WEEKLY", "MONTHLY", "DAILY", "YEARLY"]),
            proptest::collection::vec(part(), 0..3)
        )
            .prop_map(|(f, v)| format!("FREQ={f};{}", v.join(";"))),
        (proptest::sample::select(vec!["WEEKLY", "MONTHLY"]), part())
            .prop_map(|(f, p)| format!("FREQ={f};{p}")),
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (1900i32..2101, 1u32..366)
        .prop_map(|(y, o)| NaiveDate::from_yo_opt(y, o).unwrap_or_else(|| d(y, 12, 31)))
}

fn pattern() -> impl Strategy<Value = Pattern> {
    prop_oneof![
        weekday().prop_map(Pattern::Weekly),
        weekday().prop_map(Pattern::Biweekly),
        (prop_oneof![Just(-1i8), 1i8..5], weekday()).prop_map(|(n, w)| Pattern::MonthlyNth(n, w)),
    ]
}

/// The pattern the form proposes for a first date (its weekday, its
/// week of the month).
fn pattern_of(first: NaiveDate, kind: u8) -> Pattern {
    let w = first.weekday();
    match kind {
        0 => Pattern::Weekly(w),
        1 => Pattern::Biweekly(w),
        _ => {
            let nth = (first.day() as i8 - 1) / 7 + 1;
            if nth == 5 {
                Pattern::MonthlyNth(-1, w)
            } else {
                Pattern::MonthlyNth(nth, w)
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    #[test]
    fn any_rule_text_is_answered_not_panicked(
        rule in rule(),
        first in date(),
        days in prop_oneof![Just(None), (0i64..4000).prop_map(Some)],
        from in 0u32..24,
        len in 0u32..3,
        skip in any::<bool>(),
    ) {
        let end = days.and_then(|n| first.checked_add_signed(Duration::days(n)));
        let input = ScheduleInput {
            first_date: first,
            end_date: end,
            start_time: t(from),
            end_time: t((from + len).min(23)),
            rule: &rule,
            skip_holidays: skip,
        };
        let _ = Pattern::from_rrule(&rule);
        let accepted = Schedule::new(&input);
        if let Ok(s) = accepted {
            // What was accepted is within bounds and reads back the same.
            let dates = s.dates();
            prop_assert!(!dates.is_empty() && dates.len() <= MAX_OCCURRENCES);
            prop_assert!(dates.windows(2).all(|w| w[0] < w[1]));
            // DTSTART is the first date the rule gives (a holiday
            // skipped included).
            let rule_dates = s.rule_dates();
            prop_assert_eq!(rule_dates[0], s.first_date());
            prop_assert!(rule_dates[0] >= first);
            prop_assert!(*rule_dates.last().unwrap() <= s.last_date());
            let _ = describe(&s);
            let _ = describe_period(&s);
            let _ = expand(&s, &[], first, first + Duration::days(400));
        }
    }

    #[test]
    fn a_pattern_reads_back_from_its_rrule(p in pattern()) {
        prop_assert_eq!(Pattern::from_rrule(&p.to_rrule()), Some(p));
        prop_assert_eq!(Pattern::from_rrule(&format!("RRULE:{}", p.to_rrule().to_lowercase())), Some(p));
    }

    /// Form → rule → words and RRULE → stored schedule → the same rule.
    #[test]
    fn a_form_rule_round_trips(
        first in (2024i32..2031, 1u32..366)
            .prop_map(|(y, o)| NaiveDate::from_yo_opt(y, o).unwrap_or_else(|| d(y, 12, 31))),
        kind in 0u8..3,
        weeks in 1i64..110,
        from in 7u32..20,
        skip in any::<bool>(),
    ) {
        let p = pattern_of(first, kind);
        prop_assert!(check_first_date(p, first).is_ok(), "{:?} {}", p, first);
        let end = first + Duration::weeks(weeks);
        let rule = p.to_rrule();
        let input = ScheduleInput {
            first_date: first,
            end_date: Some(end),
            start_time: t(from),
            end_time: t(from + 2),
            rule: &rule,
            skip_holidays: skip,
        };
        let s = match Schedule::new(&input) {
            Ok(s) => s,
            // Only holidays in the period, or nothing left in it.
            Err(e) => {
                prop_assert!(e.0.contains("aucune date"), "{}: {}", rule, e.0);
                return Ok(());
            }
        };
        let (Pattern::Weekly(w) | Pattern::Biweekly(w) | Pattern::MonthlyNth(_, w)) = p;
        prop_assert_eq!(Pattern::from_rrule(&s.rule), Some(p));
        prop_assert_eq!(Pattern::from_rrule(&s.effective_rule), Some(p));
        prop_assert_eq!(s.first_date(), first);
        prop_assert!(describe(&s).contains(day_name(w)));
        prop_assert!(s.rule_dates().iter().all(|d| d.weekday() == w && *d <= end));
        for &d in s.rule_dates() {
            prop_assert!(check_first_date(p, d).is_ok(), "{:?} gave {}", p, d);
        }
        // What storage keeps (the effective rule, the first date)
        // builds the same schedule again.
        let again = Schedule::new(&ScheduleInput {
            first_date: s.first_date(),
            end_date: None,
            rule: &s.effective_rule,
            ..input
        })
        .unwrap();
        prop_assert_eq!(again.rule_dates(), s.rule_dates());
        prop_assert_eq!(again.until, s.until);
    }
}
