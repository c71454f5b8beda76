//! Paging through the administrators' listings: by offset (kept for compatibility), or by
//! cursor (keyset paging), whose cost does not grow with the depth of the page.
//!
//! Every listing is ordered by a time and an id (users: registration time, oldest first;
//! audit events: time, newest first; ties by id). A [`Cursor`] is the (time, id) of the last
//! item of a page: the next page starts strictly after it in that order, so items inserted
//! meanwhile never shift a page (no duplicates, no gaps among the items that existed).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::values::ValueError;

/// Where the next page starts: the sort key of the last item of the page before, and the
/// total that page reported (carried on, so that it is not recounted on every page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub at: DateTime<Utc>,
    pub id: Uuid,
    pub total: u64,
}

/// Which slice of a listing to return: `limit` items from `offset`, or after `after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
    /// When given, the page starts after this item (and `offset` is 0).
    pub after: Option<Cursor>,
}

impl Page {
    pub const DEFAULT_LIMIT: u32 = 20;
    pub const MAX_LIMIT: u32 = 100;

    /// `limit` defaults to [`Page::DEFAULT_LIMIT`] and is capped at [`Page::MAX_LIMIT`]; zero
    /// is refused. `offset` defaults to 0.
    pub fn new(limit: Option<u32>, offset: Option<u32>) -> Result<Self, ValueError> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if limit == 0 {
            return Err(ValueError("must be at least 1".into()));
        }
        Ok(Self {
            limit: limit.min(Self::MAX_LIMIT),
            offset: offset.unwrap_or(0),
            after: None,
        })
    }

    /// The page of `limit` items after `cursor`.
    pub fn after(self, cursor: Cursor) -> Self {
        Self {
            offset: 0,
            after: Some(cursor),
            ..self
        }
    }

    /// Where a store starts reading.
    pub fn start(&self) -> Start {
        match self.after {
            Some(cursor) => Start::After(cursor.at, cursor.id),
            None => Start::Offset(self.offset),
        }
    }
}

impl Default for Page {
    fn default() -> Self {
        Self {
            limit: Self::DEFAULT_LIMIT,
            offset: 0,
            after: None,
        }
    }
}

/// Where a store starts reading a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Skip this many items (cost grows with it).
    Offset(u32),
    /// Strictly after the item with this sort key, in the listing's order (through an index
    /// that matches the order, so the cost does not grow with the depth).
    After(DateTime<Utc>, Uuid),
}

/// A case-insensitive prefix of an email or a username, as searched by `GET /users?q=`:
/// trimmed and lower-cased (emails and username keys are stored lower-cased), 1 to 254
/// characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPrefix(String);

impl SearchPrefix {
    pub const MAX_CHARS: usize = 254;

    /// `None` for a blank query (no search).
    pub fn parse(raw: &str) -> Result<Option<Self>, ValueError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(ValueError(format!(
                "must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(ValueError("must not contain control characters".into()));
        }
        Ok(Some(Self(trimmed.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The least string greater than every string that starts with the prefix, in code-point
    /// (= UTF-8 byte) order: the prefix with its last character replaced by the next one. A
    /// prefix match is then the range `[prefix, upper_bound)`, which an ordinary index
    /// serves. `None` when no such string exists (the prefix is all `char::MAX`).
    pub fn upper_bound(&self) -> Option<String> {
        let mut chars: Vec<char> = self.0.chars().collect();
        while let Some(last) = chars.pop() {
            let next = (u32::from(last) + 1..=u32::from(char::MAX)).find_map(char::from_u32);
            if let Some(next) = next {
                chars.push(next);
                return Some(chars.into_iter().collect());
            }
        }
        None
    }

    /// Whether `text` starts with the prefix (the definition the range above implements).
    pub fn matches(&self, text: &str) -> bool {
        text.starts_with(&self.0)
    }
}

/// A search counts its matches up to this many: beyond, its `total` is this number and says
/// it is a lower bound. Counting every match of a broad prefix (`q=a` among a million users)
/// would cost a scan of a tenth of the table on every first page; counting a thousand more
/// than needed costs about a millisecond.
pub const SEARCH_TOTAL_LIMIT: u64 = 1_000;

/// One page of a listing, the size of the whole, and where the next page starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing<T> {
    pub items: Vec<T>,
    pub total: u64,
    /// Whether `total` is the exact size; `false`: there are more (see
    /// [`SEARCH_TOTAL_LIMIT`]).
    pub total_exact: bool,
    pub page: Page,
    /// `None` on the last page.
    pub next: Option<Cursor>,
}

impl<T> Listing<T> {
    /// Builds a page from up to `page.limit + 1` items read (the extra one only tells that a
    /// next page exists), `key` giving an item's sort key.
    pub fn from_read(
        mut items: Vec<T>,
        total: u64,
        page: Page,
        key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
    ) -> Self {
        let limit = page.limit as usize;
        let more = items.len() > limit;
        items.truncate(limit);
        let next = items.last().filter(|_| more).map(|last| {
            let (at, id) = key(last);
            Cursor { at, id, total }
        });
        Self {
            items,
            total,
            total_exact: true,
            page,
            next,
        }
    }

    /// The listing of a search whose store counted at most `limit + 1` matches: a count
    /// above `limit` is reported as `limit`, not exact. Cursors keep the count as it was read,
    /// so every page of the search says the same.
    pub fn counted_up_to(mut self, limit: u64) -> Self {
        if self.total > limit {
            self.total = limit;
            self.total_exact = false;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn prefix(raw: &str) -> SearchPrefix {
        SearchPrefix::parse(raw).unwrap().unwrap()
    }

    #[test]
    fn a_prefix_is_trimmed_and_lower_cased_and_blank_means_none() {
        assert_eq!(prefix("  John.D ").as_str(), "john.d");
        assert_eq!(SearchPrefix::parse("   ").unwrap(), None);
        assert!(SearchPrefix::parse("a\u{0}b").is_err());
        assert!(SearchPrefix::parse(&"a".repeat(255)).is_err());
        assert!(SearchPrefix::parse(&"a".repeat(254)).is_ok());
    }

    #[test]
    fn the_upper_bound_closes_exactly_the_strings_with_the_prefix() {
        assert_eq!(prefix("abc").upper_bound().as_deref(), Some("abd"));
        assert_eq!(prefix("a@").upper_bound().as_deref(), Some("aA"));
        // The surrogate gap is skipped: U+D7FF is followed by U+E000.
        assert_eq!(
            prefix("x\u{D7FF}").upper_bound().as_deref(),
            Some("x\u{E000}")
        );
        let top = SearchPrefix(format!("a{}", char::MAX));
        assert_eq!(top.upper_bound().as_deref(), Some("b"));
        assert_eq!(SearchPrefix(char::MAX.to_string()).upper_bound(), None);
        for text in ["abc", "abc@x", "abcz", "abc\u{10FFFF}"] {
            let p = prefix("abc");
            let upper = p.upper_bound().unwrap();
            assert!(p.matches(text));
            assert!(text >= p.as_str() && text < upper.as_str(), "{text}");
        }
        for text in ["abd", "ab", "abb\u{10FFFF}"] {
            let upper = prefix("abc").upper_bound().unwrap();
            assert!(!(text >= "abc" && text < upper.as_str()), "{text}");
        }
    }

    #[test]
    fn a_count_beyond_the_limit_is_reported_as_the_limit_not_exact_and_kept_in_the_cursor() {
        let at = Utc::now();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let page = Page::new(Some(2), None).unwrap();
        let capped =
            Listing::from_read(ids.clone(), 1001, page, |id| (at, *id)).counted_up_to(1000);
        assert_eq!((capped.total, capped.total_exact), (1000, false));
        assert_eq!(capped.next.map(|cursor| cursor.total), Some(1001));
        let exact = Listing::from_read(ids.clone(), 1000, page, |id| (at, *id)).counted_up_to(1000);
        assert_eq!((exact.total, exact.total_exact), (1000, true));
        let plain = Listing::from_read(ids, 5, page, |id| (at, *id));
        assert!(plain.total_exact);
    }

    #[test]
    fn a_page_read_one_beyond_its_limit_has_a_next_cursor() {
        let at = Utc::now();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::new_v4()).collect();
        let page = Page::new(Some(2), None).unwrap();
        let listing = Listing::from_read(ids.clone(), 9, page, |id| (at, *id));
        assert_eq!(listing.items, ids[..2]);
        assert_eq!(
            listing.next,
            Some(Cursor {
                at,
                id: ids[1],
                total: 9
            })
        );
        let last = Listing::from_read(ids[..2].to_vec(), 9, page, |id| (at, *id));
        assert_eq!(last.next, None);
        let empty = Listing::from_read(Vec::<Uuid>::new(), 0, page, |id| (at, *id));
        assert_eq!(empty.next, None);
    }

    #[test]
    fn a_page_after_a_cursor_starts_there_and_ignores_the_offset() {
        let cursor = Cursor {
            at: Utc::now(),
            id: Uuid::new_v4(),
            total: 3,
        };
        let page = Page::new(Some(5), Some(7)).unwrap().after(cursor);
        assert_eq!(page.offset, 0);
        assert_eq!(page.start(), Start::After(cursor.at, cursor.id));
        assert_eq!(Page::new(None, Some(7)).unwrap().start(), Start::Offset(7));
    }
}
