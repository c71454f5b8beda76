//! The shared parsers: the duration syntax, by example and by property.

use std::time::Duration;

use proptest::prelude::*;

use crate::config::parse_duration;

#[test]
fn durations_accept_the_documented_forms() {
    assert_eq!(parse_duration("900"), Ok(Duration::from_secs(900)));
    assert_eq!(parse_duration(" 15m "), Ok(Duration::from_secs(900)));
    assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    assert!(parse_duration("15 m").is_err());
    assert!(parse_duration("-5s").is_err());
    assert!(parse_duration("5w").is_err());
    assert!(parse_duration("").is_err());
    assert!(parse_duration("3651d").is_err(), "over ten years");
}

const TEN_YEARS: u64 = 10 * 365 * 86_400;

proptest! {
    #[test]
    fn durations_round_trip(n in 0u64..=TEN_YEARS, unit in prop::sample::select(vec![
        ("s", 1u64), ("m", 60), ("h", 3_600), ("d", 86_400),
    ])) {
        let (suffix, secs) = unit;
        let parsed = parse_duration(&format!("{n}{suffix}"));
        match n.checked_mul(secs).filter(|total| *total <= TEN_YEARS) {
            Some(total) => prop_assert_eq!(parsed, Ok(Duration::from_secs(total))),
            None => prop_assert!(parsed.is_err()),
        }
        if suffix == "s" {
            prop_assert_eq!(parse_duration(&n.to_string()), Ok(Duration::from_secs(n)));
        }
    }

    #[test]
    fn durations_never_panic(raw in any::<String>()) {
        let _ = parse_duration(&raw);
    }

    #[test]
    fn durations_never_panic_on_near_misses(raw in "[ 0-9]{0,25}[smhdµ€x ]{0,3}") {
        if let Ok(value) = parse_duration(&raw) {
            prop_assert!(value.as_secs() <= TEN_YEARS);
        }
    }
}
