//! Percent-encoding and query strings, one definition each: the RFC 3986 unreserved set that S3 and
//! `SigV4` never escape, `%XX` decoding (with `+` as a space in query strings), and splitting a raw query
//! into its parameters. The router (`s3::parse::Query`), the signature code (`auth`), the admin API,
//! the upstream client and the command line all use these, so they see the same parameters. Imports
//! nothing of the crate.

use percent_encoding::AsciiSet;

/// True for the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~`.
pub const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Every ASCII byte that is not unreserved (non-ASCII bytes are always escaped).
const fn all_but_unreserved() -> AsciiSet {
    let mut set = AsciiSet::EMPTY;
    let mut b = 0u8;
    while b < 0x80 {
        if !is_unreserved(b) {
            set = set.add(b);
        }
        b += 1;
    }
    set
}

/// What a URI component escapes: everything but the unreserved characters (`SigV4` `UriEncode`, query
/// values, one segment of an S3 key).
pub const COMPONENT: &AsciiSet = &all_but_unreserved();

/// [`COMPONENT`] with `/` kept: a whole path, and S3's `encoding-type=url` in listings.
pub const PATH: &AsciiSet = &all_but_unreserved().remove(b'/');

/// Percent-encode every byte except the unreserved set (and `/` when `keep_slash`), with upper-case
/// hex — the `UriEncode` function of the `SigV4` specification.
pub fn uri_encode(bytes: &[u8], keep_slash: bool) -> String {
    let set = if keep_slash { PATH } else { COMPONENT };
    percent_encoding::percent_encode(bytes, set).to_string()
}

/// [`uri_encode`] of a string without keeping `/`: a query value, one segment of a key.
pub fn encode_component(s: &str) -> String {
    uri_encode(s.as_bytes(), false)
}

/// Decode `%XX` escapes (an invalid escape stays literal); with `plus_as_space`, `+` becomes a space
/// (form decoding, as query strings are decoded).
pub fn percent_decode(s: &[u8], plus_as_space: bool) -> Vec<u8> {
    if plus_as_space && s.contains(&b'+') {
        let spaced: Vec<u8> = s.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
        return percent_encoding::percent_decode(&spaced).collect();
    }
    percent_encoding::percent_decode(s).collect()
}

/// One `name[=value]` element of a raw query string, split but not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawParam<'a> {
    pub name: &'a str,
    /// `None` when the element had no `=` at all (`?uploads`).
    pub value: Option<&'a str>,
}

/// Split a raw query string into its elements, in order, repeats kept (empty elements such as in
/// `a=1&&b` are skipped). The value is everything after the first `=`.
pub fn split_query(query: &str) -> Vec<RawParam<'_>> {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((n, v)) => RawParam {
                name: n,
                value: Some(v),
            },
            None => RawParam { name: kv, value: None },
        })
        .collect()
}

/// One decoded query parameter: name and value (`None` without `=`).
pub type QueryParam = (Vec<u8>, Option<Vec<u8>>);

/// Every parameter of a raw query string, in order, repeats kept, name and value decoded (`%XX`, `+`
/// as a space). The one query parser: the router and the signature code both read the query this way.
pub fn query_params(query: &str) -> Vec<QueryParam> {
    split_query(query)
        .into_iter()
        .map(|p| {
            (
                percent_decode(p.name.as_bytes(), true),
                p.value.map(|v| percent_decode(v.as_bytes(), true)),
            )
        })
        .collect()
}

/// A header value as AWS returns user metadata: unchanged when it is printable ASCII, else one RFC 2047
/// encoded word `=?UTF-8?B?<base64>?=` (mail-safe, so every HTTP client can carry it).
pub fn rfc2047_encode(v: &str) -> String {
    use base64::Engine as _;
    if v.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)) {
        return v.to_string();
    }
    format!(
        "=?UTF-8?B?{}?=",
        base64::engine::general_purpose::STANDARD.encode(v.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_rfc2047_encoded_only_when_not_ascii() {
        assert_eq!(rfc2047_encode("plain value"), "plain value");
        assert_eq!(rfc2047_encode("café"), "=?UTF-8?B?Y2Fmw6k=?=");
        assert_eq!(rfc2047_encode("日本"), "=?UTF-8?B?5pel5pys?=");
    }

    #[test]
    fn encode_unreserved_and_slash() {
        assert_eq!(uri_encode(b"a b/c~d.e_f-g", true), "a%20b/c~d.e_f-g");
        assert_eq!(uri_encode(b"a b/c", false), "a%20b%2Fc");
        assert_eq!(uri_encode("é+=".as_bytes(), false), "%C3%A9%2B%3D");
    }

    #[test]
    fn the_sets_escape_exactly_what_is_not_unreserved() {
        for b in 0..=255u8 {
            let kept = uri_encode(&[b], false) == char::from(b).to_string();
            assert_eq!(kept, b.is_ascii() && is_unreserved(b), "byte {b:#04x}");
            let kept_in_path = uri_encode(&[b], true) == char::from(b).to_string();
            assert_eq!(kept_in_path, kept || b == b'/', "byte {b:#04x}");
        }
    }

    #[test]
    fn decode_handles_invalid_escapes_and_plus() {
        assert_eq!(percent_decode(b"a%20b%zz%4", false), b"a b%zz%4");
        assert_eq!(percent_decode(b"a+b%2B", true), b"a b+");
        assert_eq!(percent_decode(b"a+b", false), b"a+b");
        assert_eq!(percent_decode(b"%", false), b"%");
        assert_eq!(percent_decode(b"%4", false), b"%4");
        assert_eq!(percent_decode(b"%41", false), b"A");
        assert_eq!(percent_decode(b"%%41%+1", true), b"%A% 1");
    }

    #[test]
    fn query_params_keep_order_repeats_and_bare_names() {
        let v = |s: &str| Some(s.as_bytes().to_vec());
        assert_eq!(
            query_params("b=2&a=1&a=0&c&&d=&e=x=y&f+g=h%20i+j"),
            vec![
                (b"b".to_vec(), v("2")),
                (b"a".to_vec(), v("1")),
                (b"a".to_vec(), v("0")),
                (b"c".to_vec(), None),
                (b"d".to_vec(), v("")),
                (b"e".to_vec(), v("x=y")),
                (b"f g".to_vec(), v("h i j")),
            ]
        );
        assert!(query_params("").is_empty());
        assert_eq!(
            split_query("a=1&&b"),
            vec![
                RawParam {
                    name: "a",
                    value: Some("1")
                },
                RawParam { name: "b", value: None }
            ]
        );
    }
}
