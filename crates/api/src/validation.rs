//! Turning request fields into domain values, collecting every field error of a body.

use auth_domain::ValueError;
use chrono::{NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::error::{ApiError, FieldError};

pub(crate) fn rfc3339(time: chrono::DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Collects every field error of a body before answering, so a client fixes them all at once.
#[derive(Default)]
pub(crate) struct Fields(pub(crate) Vec<FieldError>);

impl Fields {
    pub(crate) fn required<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        match raw {
            None => {
                self.0.push(FieldError::new(field, "is required"));
                None
            }
            Some(raw) => self.check(field, parse(raw)),
        }
    }

    /// Absent, `null` and blank all mean "not given".
    pub(crate) fn optional<T>(
        &mut self,
        field: &str,
        raw: Option<&str>,
        parse: impl Fn(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        let raw = raw.filter(|value| !value.trim().is_empty())?;
        self.check(field, parse(raw))
    }

    pub(crate) fn check<T>(&mut self, field: &str, parsed: Result<T, ValueError>) -> Option<T> {
        parsed
            .map_err(|error| self.0.push(FieldError::new(field, error.0)))
            .ok()
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::validation(self.0))
        }
    }

    /// [`Fields::finish`], then the value the fields made (`Some` whenever no field failed).
    pub(crate) fn finish_with<T>(self, value: Option<T>) -> Result<T, ApiError> {
        self.finish()?;
        value.ok_or_else(|| ApiError::validation(Vec::new()))
    }
}

pub(crate) fn parse_date(raw: &str) -> Result<NaiveDate, ValueError> {
    let date = NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
        .map_err(|_| ValueError("must be a date as YYYY-MM-DD".into()))?;
    if date > Utc::now().date_naive() {
        return Err(ValueError("must not be in the future".into()));
    }
    Ok(date)
}

/// A required non-empty string field.
pub(crate) fn required_string(body: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match body.get(field) {
        Some(Value::String(value)) if !value.trim().is_empty() => Ok(value.clone()),
        Some(Value::String(_)) => Err(invalid(field, "must not be empty")),
        Some(_) => Err(invalid(field, "must be a string")),
        None => Err(invalid(field, "is required")),
    }
}

pub(crate) fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::validation(vec![FieldError::new(field, message)])
}
