//! `OAUTH_REDIRECT_ALLOWLIST`: where the app may be sent back (no open redirect), and the URL
//! the browser is sent back to.

use url::Url;

/// The app URLs the callback may redirect to: an entry admits its exact origin (scheme, host,
/// port) with its path or a path below it by whole segments (`/auth` admits `/auth` and
/// `/auth/done`, not `/authx`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectAllowlist {
    entries: Vec<Url>,
}

impl RedirectAllowlist {
    /// Parses the entries; an error names the first one that is not an absolute
    /// `http(s)://` URL without query, fragment or credentials.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut parsed = Vec::new();
        for entry in entries {
            let raw = entry.as_ref().trim();
            let url = Url::parse(raw).map_err(|e| format!("{raw:?} is not a URL: {e}"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!("{raw:?} must be an http:// or https:// URL"));
            }
            if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
                return Err(format!(
                    "{raw:?} must not have a query, a fragment or credentials"
                ));
            }
            parsed.push(url);
        }
        Ok(Self { entries: parsed })
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The URL, when an entry admits it.
    pub fn admit(&self, raw: &str) -> Option<Url> {
        let url = Url::parse(raw).ok()?;
        if url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
            return None;
        }
        self.entries
            .iter()
            .any(|entry| entry.origin() == url.origin() && below(entry.path(), url.path()))
            .then_some(url)
    }
}

/// Whether `path` is `base` or below it by whole segments.
fn below(base: &str, path: &str) -> bool {
    let base = base.trim_end_matches('/');
    path == base
        || path
            .strip_prefix(base)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// `redirect_uri` with `params` added to its query.
pub fn with_params(redirect_uri: &str, params: &[(&str, String)]) -> Option<String> {
    let mut url = Url::parse(redirect_uri).ok()?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in params {
            query.append_pair(name, value);
        }
    }
    Some(url.to_string())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn whole_segments_of_the_exact_origin_only() {
        let list = RedirectAllowlist::parse(&["https://app.example.com/auth"]).unwrap();
        for ok in [
            "https://app.example.com/auth",
            "https://app.example.com/auth/",
            "https://app.example.com/auth/done?x=1",
        ] {
            assert!(list.admit(ok).is_some(), "{ok}");
        }
        for refused in [
            "https://app.example.com/authx",
            "https://app.example.com/",
            "https://app.example.com/auth/../admin",
            "http://app.example.com/auth",
            "https://app.example.com:8443/auth",
            "https://evil.example.com/auth",
            "https://app.example.com.evil.com/auth",
            "https://user@app.example.com/auth",
            "https://app.example.com/auth#x",
            "//evil.com/auth",
            "javascript:alert(1)",
        ] {
            assert!(list.admit(refused).is_none(), "{refused}");
        }
        let root = RedirectAllowlist::parse(&["http://127.0.0.1:3000"]).unwrap();
        assert!(root.admit("http://127.0.0.1:3000/anything").is_some());
        assert!(RedirectAllowlist::parse(&["app.example.com"]).is_err());
        assert!(RedirectAllowlist::parse(&["https://app.example.com/?a=b"]).is_err());
    }

    #[test]
    fn params_are_encoded() {
        let url = with_params(
            "https://app.example.com/auth?keep=1",
            &[("login_code", "a b".into()), ("state", "&x=".into())],
        )
        .unwrap();
        assert_eq!(
            url,
            "https://app.example.com/auth?keep=1&login_code=a+b&state=%26x%3D"
        );
    }
}
