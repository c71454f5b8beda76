//! One declaration per environment variable — its name, its default, its parser and its
//! `--help` line — from which reading, `--help` and the README's table all follow.
//!
//! A concern's file (`server.rs`, `mail.rs`, …) declares its variables as `const` [`Setting`]s,
//! lists them in its `VARIABLES`, and reads each through [`Setting::read`]; rules that span
//! several variables stay code in that file's `read`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::TimeDelta;

use super::ConfigError;

/// What an unset (or blank) variable stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenUnset {
    /// Read as if the variable were set to this: `--help` shows `[default: 15m]`.
    Value(&'static str),
    /// Nothing is read (the parser is given `""`); the words say what that means:
    /// `--help` shows `[default: (none)]`.
    Means(&'static str),
}

/// A variable as `--help` and the README's configuration table show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Variable {
    /// `MAIL_FROM`, or a pattern such as `OAUTH_<NAME>_CLIENT_ID` for a family of names.
    pub name: &'static str,
    pub default: WhenUnset,
    /// The `--help` line (the README may say more).
    pub help: &'static str,
}

impl Variable {
    /// The default as `--help` prints it: `15m`, or `(none)` for an unset one.
    pub fn default_text(&self) -> String {
        match self.default {
            WhenUnset::Value(value) => value.to_owned(),
            WhenUnset::Means(meaning) => format!("({meaning})"),
        }
    }

    /// The line of the environment section of `--help`.
    pub fn help_line(&self) -> String {
        format!(
            "  {:<20} {} [default: {}]\n",
            self.name,
            self.help,
            self.default_text()
        )
    }

    /// The default as the README's table writes it: `` `15m` ``, or the words of an unset one.
    pub fn readme_default(&self) -> String {
        match self.default {
            WhenUnset::Value(value) => format!("`{value}`"),
            WhenUnset::Means(meaning) => meaning.to_owned(),
        }
    }
}

/// Turns a raw value (trimmed or not, as the variable needs) into the setting, or says why not.
pub type Parser<T> = fn(&str) -> Result<T, String>;

/// A variable with its parser.
pub struct Setting<T> {
    pub variable: Variable,
    parse: Parser<T>,
}

impl<T> Setting<T> {
    pub const fn new(
        name: &'static str,
        default: WhenUnset,
        parse: Parser<T>,
        help: &'static str,
    ) -> Self {
        Self {
            variable: Variable {
                name,
                default,
                help,
            },
            parse,
        }
    }

    pub const fn name(&self) -> &'static str {
        self.variable.name
    }

    /// The value set, else the default; a refused value names the variable.
    pub fn read(&self, env: &Env) -> Result<T, ConfigError> {
        let raw = match (env.get(self.name()), self.variable.default) {
            (Some(raw), _) => raw,
            (None, WhenUnset::Value(value)) => value.to_owned(),
            (None, WhenUnset::Means(_)) => String::new(),
        };
        (self.parse)(&raw).map_err(|message| self.refuse(message))
    }

    /// The value exactly as set, a blank one included (`None` when absent): for a secret,
    /// where a blank value is a mistake to report rather than a default to apply.
    pub fn read_verbatim(&self, env: &Env) -> Result<Option<T>, ConfigError> {
        env.verbatim(self.name())
            .map(|raw| (self.parse)(&raw).map_err(|message| self.refuse(message)))
            .transpose()
    }

    /// Whether the variable is set to something not blank.
    pub fn is_set(&self, env: &Env) -> bool {
        env.get(self.name()).is_some()
    }

    /// A refusal naming this variable, for the rules that span several variables.
    pub fn refuse(&self, message: impl Into<String>) -> ConfigError {
        ConfigError {
            variable: self.name(),
            message: message.into(),
        }
    }
}

/// The environment as the configuration reads it (the process's in production).
pub struct Env<'a> {
    lookup: &'a dyn Fn(&str) -> Option<String>,
}

impl<'a> Env<'a> {
    pub fn new(lookup: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Self { lookup }
    }

    /// The value of `name`; a blank one counts as unset.
    pub fn get(&self, name: &str) -> Option<String> {
        self.verbatim(name).filter(|value| !value.trim().is_empty())
    }

    fn verbatim(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
    }
}

impl fmt::Debug for Env<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Env")
    }
}

// The parsers the concerns share. Each keeps the wording of its refusals: `--help`, the README
// and the tests quote them.

/// The raw text, as set.
pub fn text(raw: &str) -> Result<String, String> {
    Ok(raw.to_owned())
}

/// The raw text without surrounding blanks.
pub fn trimmed(raw: &str) -> Result<String, String> {
    Ok(raw.trim().to_owned())
}

/// `parse`d when set, `None` when unset (an unset variable's parser is given `""`).
pub fn optional<T>(
    raw: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>, String> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse(raw).map(Some)
}

/// The text as set, `None` when unset.
pub fn optional_text(raw: &str) -> Result<Option<String>, String> {
    optional(raw, text)
}

/// A whole number of the type asked for (`u32`, `u64`).
pub fn whole_number<N: FromStr>(raw: &str) -> Result<N, String> {
    raw.trim()
        .parse()
        .map_err(|_| format!("expected a whole number, got {raw:?}"))
}

/// `value` when within `range`.
pub fn within<N: PartialOrd + fmt::Display>(
    value: N,
    range: std::ops::RangeInclusive<N>,
) -> Result<N, String> {
    if !range.contains(&value) {
        return Err(format!(
            "must be between {} and {}, got {value}",
            range.start(),
            range.end()
        ));
    }
    Ok(value)
}

/// A whole number within `range`, refused without echoing it (`must be between 1 and 100`).
pub fn bounded(raw: &str, range: std::ops::RangeInclusive<u64>) -> Result<u64, String> {
    let (start, end) = (*range.start(), *range.end());
    within(whole_number(raw)?, range).map_err(|_| format!("must be between {start} and {end}"))
}

/// `on`/`true`/`1`/`yes` or `off`/`false`/`0`/`no`, in any case.
pub fn switch(raw: &str) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Some(true),
        "false" | "0" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The non-empty entries of a comma-separated list, trimmed.
pub fn list(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
}

/// A duration greater than zero.
pub fn positive_duration(raw: &str) -> Result<Duration, String> {
    let value = parse_duration(raw)?;
    if value.is_zero() {
        return Err("must be greater than zero".into());
    }
    Ok(value)
}

/// A lifetime: a duration greater than zero.
pub fn ttl(raw: &str) -> Result<TimeDelta, String> {
    time_delta(positive_duration(raw)?)
}

/// A span of time, zero included (zero usually turns something off).
pub fn span(raw: &str) -> Result<TimeDelta, String> {
    time_delta(parse_duration(raw)?)
}

fn time_delta(value: Duration) -> Result<TimeDelta, String> {
    TimeDelta::from_std(value).map_err(|_| "is too long".to_owned())
}

/// A duration, zero included: `900`, `30s`, `15m`, `12h`, `7d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    let (digits, unit) = match raw.find(|c: char| !c.is_ascii_digit()) {
        Some(at) => raw.split_at(at),
        None => (raw, "s"),
    };
    let amount: u64 = digits.parse().map_err(|_| {
        format!("expected whole seconds or a number with s, m, h or d, got {raw:?}")
    })?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "unknown unit {unit:?} in {raw:?}: use s, m, h or d"
            ))
        }
    };
    amount
        .checked_mul(unit_secs)
        .filter(|secs| *secs <= 10 * 365 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{raw:?} is too long"))
}
