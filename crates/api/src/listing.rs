//! Paged listings on the wire: `?limit=&offset=`, `?after=<cursor>`, `?q=<prefix>`, and the
//! `{"items", "total", "limit", "offset", "next"}` answer.
//!
//! A cursor is opaque to clients: URL-safe base64 of the listing it belongs to, the sort key
//! (time, id) of the last item shown, and the total of the first page. A cursor of another
//! listing, or anything that does not decode, is a 422 — never a 500, never a silently
//! restarted walk. Forging one gains nothing: it only positions a listing the caller may read
//! anyway.

use auth_domain::listing::{Cursor, Listing, Page, SearchPrefix};
use auth_domain::ValueError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::DateTime;
use serde::Serialize;
use uuid::Uuid;

use crate::error::{ApiError, FieldError};
use crate::validation::Fields;

/// Which listing a cursor walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listed {
    Users,
    Audit,
}

impl Listed {
    fn tag(self) -> u8 {
        match self {
            Listed::Users => b'u',
            Listed::Audit => b'a',
        }
    }
}

const CURSOR_BYTES: usize = 1 + 8 + 4 + 16 + 8;

/// The cursor as the answer's `next` carries it.
pub fn encode_cursor(listed: Listed, cursor: &Cursor) -> String {
    let mut bytes = Vec::with_capacity(CURSOR_BYTES);
    bytes.push(listed.tag());
    bytes.extend_from_slice(&cursor.at.timestamp().to_be_bytes());
    bytes.extend_from_slice(&cursor.at.timestamp_subsec_nanos().to_be_bytes());
    bytes.extend_from_slice(cursor.id.as_bytes());
    bytes.extend_from_slice(&cursor.total.to_be_bytes());
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A cursor given back by a client, for `listed`.
pub fn decode_cursor(listed: Listed, raw: &str) -> Result<Cursor, ValueError> {
    let refused = || ValueError("must be a `next` cursor given by this listing".into());
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| refused())?;
    if bytes.len() != CURSOR_BYTES || bytes[0] != listed.tag() {
        return Err(refused());
    }
    let field = |from: usize, to: usize| bytes.get(from..to).ok_or_else(refused);
    let secs = i64::from_be_bytes(field(1, 9)?.try_into().map_err(|_| refused())?);
    let nanos = u32::from_be_bytes(field(9, 13)?.try_into().map_err(|_| refused())?);
    let id = Uuid::from_slice(field(13, 29)?).map_err(|_| refused())?;
    let total = u64::from_be_bytes(field(29, 37)?.try_into().map_err(|_| refused())?);
    let at = DateTime::from_timestamp(secs, nanos)
        .filter(|_| nanos < 1_000_000_000)
        .ok_or_else(refused)?;
    Ok(Cursor { at, id, total })
}

/// What a listing request asks for.
#[derive(Debug)]
pub struct ListingQuery {
    pub page: Page,
    /// `q`, for the listings that search (blank: none).
    pub search: Option<SearchPrefix>,
}

/// `?limit=&offset=&after=&q=`: `limit` 1 or more (default 20, capped at 100), `offset` 0 or
/// more (default 0) — whole numbers —, `after` a cursor of this listing (not with an offset
/// above 0; blank: none), `q` a prefix (read only where `searchable`; blank: none). Other
/// parameters are ignored.
pub fn listing_query(
    query: &str,
    listed: Listed,
    searchable: bool,
) -> Result<ListingQuery, ApiError> {
    let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|_| {
            ApiError::validation(vec![FieldError::new(
                "query",
                "must be a URL-encoded query string",
            )])
        })?
        .into_inner();
    let mut fields = Fields::default();
    let (mut limit, mut offset, mut after, mut search) = (None, None, None, None);
    for (key, value) in &pairs {
        let number = |raw: &str| {
            raw.trim()
                .parse::<u32>()
                .map_err(|_| ValueError(format!("must be a whole number from 0 to {}", u32::MAX)))
        };
        match key.as_str() {
            "limit" => limit = fields.check("limit", number(value)),
            "offset" => offset = fields.check("offset", number(value)),
            // Blank, like a blank `q`, means "not given": the first page.
            "after" if value.trim().is_empty() => after = None,
            "after" => after = fields.check("after", decode_cursor(listed, value)),
            "q" if searchable => search = fields.check("q", SearchPrefix::parse(value)).flatten(),
            _ => {}
        }
    }
    if after.is_some() && offset.is_some_and(|offset| offset > 0) {
        fields.check::<()>(
            "offset",
            Err(ValueError("cannot be combined with `after`".into())),
        );
    }
    let page = fields
        .check("limit", Page::new(limit, offset))
        .map(|page| match after {
            Some(cursor) => page.after(cursor),
            None => page,
        });
    let page = fields.finish_with(page)?;
    Ok(ListingQuery { page, search })
}

/// `{"items": [...], "total": n, "total_exact": b, "limit": l, "offset": o, "next": cursor or
/// null}`: the shape
/// of the paged listings (documented as `UserPage` and
/// `AuditPage`).
#[derive(Debug, Serialize)]
pub struct PageOut<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub total_exact: bool,
    pub limit: u32,
    pub offset: u32,
    pub next: Option<String>,
}

impl<T> PageOut<T> {
    pub(crate) fn new<S>(listing: &Listing<S>, listed: Listed, item: impl Fn(&S) -> T) -> Self {
        Self {
            items: listing.items.iter().map(item).collect(),
            total: listing.total,
            total_exact: listing.total_exact,
            limit: listing.page.limit,
            offset: listing.page.offset,
            next: listing
                .next
                .as_ref()
                .map(|cursor| encode_cursor(listed, cursor)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use chrono::Utc;

    #[test]
    fn a_cursor_survives_the_wire_for_its_own_listing_only() {
        let cursor = Cursor {
            at: Utc::now(),
            id: Uuid::new_v4(),
            total: 1_000_001,
        };
        let raw = encode_cursor(Listed::Users, &cursor);
        assert!(raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_cursor(Listed::Users, &raw).unwrap(), cursor);
        assert!(decode_cursor(Listed::Audit, &raw).is_err());
        for bad in ["", "abc", "!!!!", &raw[1..], &format!("{raw}AA")] {
            assert!(decode_cursor(Listed::Users, bad).is_err(), "{bad}");
        }
        let mut bytes = URL_SAFE_NO_PAD.decode(&raw).unwrap();
        bytes[9..13].copy_from_slice(&2_000_000_000u32.to_be_bytes());
        let bad_nanos = URL_SAFE_NO_PAD.encode(bytes);
        assert!(decode_cursor(Listed::Users, &bad_nanos).is_err());
    }

    #[test]
    fn after_and_a_positive_offset_do_not_mix() {
        let cursor = Cursor {
            at: Utc::now(),
            id: Uuid::new_v4(),
            total: 3,
        };
        let raw = encode_cursor(Listed::Users, &cursor);
        let query = listing_query(
            &format!("after={raw}&offset=0&limit=5"),
            Listed::Users,
            true,
        )
        .unwrap();
        assert_eq!(query.page.after, Some(cursor));
        assert_eq!(query.page.limit, 5);
        assert!(listing_query(&format!("after={raw}&offset=2"), Listed::Users, true).is_err());
        assert!(listing_query("after=nope", Listed::Users, true).is_err());
        let search = listing_query("q=%20Ann", Listed::Users, true).unwrap();
        assert_eq!(search.search.unwrap().as_str(), "ann");
        assert!(listing_query("q=Ann", Listed::Audit, false)
            .unwrap()
            .search
            .is_none());
    }
}
