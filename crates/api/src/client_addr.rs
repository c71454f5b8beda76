//! Which address a request comes from, for throttling and for the session record.
//!
//! `X-Forwarded-For` is written by whoever sends the request, so it is believed only as far
//! as the proxies that appended to it are trusted (`TRUSTED_PROXIES`): starting from the
//! socket peer and walking the header from its right end, each hop that is a trusted proxy
//! vouches for the entry left of it; the first address that is not a trusted proxy is the
//! client. Anything further left was written by the client itself and is ignored — so a
//! client cannot pick its own address, however it fills the header.

use actix_web::http::header;
use auth_domain::session::ClientInfo;

use crate::Api;
use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use actix_web::HttpRequest;
use ipnet::IpNet;

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// At most this many `X-Forwarded-For` entries are looked at (a chain of proxies is short).
const MAX_HOPS: usize = 32;

/// The client's address: the socket peer, or — when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry that is not a trusted proxy. `None` only when the
/// connection has no peer address (in-process test requests).
pub fn client_address(req: &HttpRequest, trusted_proxies: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    Some(resolve(peer, req.headers(), trusted_proxies))
}

fn resolve(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let is_trusted = |address: &IpAddr| trusted_proxies.iter().any(|net| net.contains(address));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    // Several header lines form one list, in order.
    let entries: Vec<Option<&str>> = headers
        .get_all(X_FORWARDED_FOR)
        .flat_map(|value| match value.to_str() {
            Ok(text) => text.split(',').map(Some).collect::<Vec<_>>(),
            Err(_) => vec![None],
        })
        .collect();
    for entry in entries.into_iter().rev().take(MAX_HOPS) {
        // An entry that is no address ends what the trusted hops vouch for: the last one
        // they did stands.
        let Some(address) = entry.and_then(parse_entry) else {
            break;
        };
        client = address;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// `192.0.2.1`, `2001:db8::1`, `192.0.2.1:443`, `[2001:db8::1]:443` or `[2001:db8::1]`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    let address = entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<SocketAddr>().map(|socket| socket.ip()))
        .or_else(|_| {
            entry
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or(entry)
                .parse::<IpAddr>()
        })
        .ok()?;
    Some(address.to_canonical())
}

/// Longest user agent kept with a session.
const MAX_USER_AGENT: usize = 512;

fn trusted_proxies(req: &HttpRequest) -> &[ipnet::IpNet] {
    req.app_data::<Api>()
        .map_or(&[], |api| api.settings.trusted_proxies.as_slice())
}

pub(crate) fn client_info(req: &HttpRequest) -> ClientInfo {
    ClientInfo {
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|agent| agent.chars().take(MAX_USER_AGENT).collect()),
        address: client_address(req, trusted_proxies(req)).map(|ip| ip.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter()
            .map(|net| {
                net.parse::<IpNet>()
                    .or_else(|_| net.parse::<IpAddr>().map(IpNet::from))
                    .unwrap()
            })
            .collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                HeaderName::from_static(X_FORWARDED_FOR),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn ip(raw: &str) -> IpAddr {
        raw.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            resolve(ip("198.51.100.1"), &headers, &[]),
            ip("198.51.100.1")
        );
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            resolve(ip("198.51.100.1"), &headers, &trusted),
            ip("198.51.100.1")
        );
    }

    #[test]
    fn a_trusted_proxy_is_believed_about_the_hop_before_it() {
        let trusted = nets(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            resolve(ip("10.1.2.3"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn entries_the_client_wrote_itself_are_ignored() {
        // The client sent "X-Forwarded-For: 192.0.2.66"; the proxy appended the real peer.
        let trusted = nets(&["10.0.0.0/8"]);
        let headers = forwarded(&["192.0.2.66, 203.0.113.7"]);
        assert_eq!(
            resolve(ip("10.1.2.3"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_from_the_right() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1"]);
        let headers = forwarded(&["192.0.2.66, 203.0.113.7", "192.168.1.1, 10.9.9.9"]);
        assert_eq!(
            resolve(ip("10.1.2.3"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        let headers = forwarded(&["10.0.0.5, 10.0.0.6"]);
        assert_eq!(resolve(ip("10.1.2.3"), &headers, &trusted), ip("10.0.0.5"));
        assert_eq!(
            resolve(ip("10.1.2.3"), &HeaderMap::new(), &trusted),
            ip("10.1.2.3")
        );
    }

    #[test]
    fn garbage_stops_the_walk_at_the_last_vouched_hop() {
        let trusted = nets(&["10.0.0.0/8"]);
        let headers = forwarded(&["203.0.113.7, not-an-ip, 10.0.0.6"]);
        assert_eq!(resolve(ip("10.1.2.3"), &headers, &trusted), ip("10.0.0.6"));
    }

    #[test]
    fn ports_brackets_and_mapped_addresses_are_understood() {
        let trusted = nets(&["::1", "127.0.0.1"]);
        for (entry, expected) in [
            ("203.0.113.7:4711", "203.0.113.7"),
            ("[2001:db8::7]:443", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            (" 2001:db8::7 ", "2001:db8::7"),
            ("::ffff:203.0.113.7", "203.0.113.7"),
        ] {
            let headers = forwarded(&[entry]);
            assert_eq!(
                resolve(ip("::1"), &headers, &trusted),
                ip(expected),
                "{entry}"
            );
        }
        // A mapped peer matches an IPv4 trusted entry.
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(
            resolve(ip("::ffff:127.0.0.1"), &headers, &trusted),
            ip("203.0.113.7")
        );
    }
}
