//! Just enough XML reading for S3 answers: the text of the first `<Tag>`, and counts of elements.

fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&#13;", "\r")
        .replace("&#10;", "\n")
        .replace("&amp;", "&")
}

/// Text of the first `<name>…</name>` (not of `<nameSuffix>`), unescaped.
pub fn tag(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&close)? + start;
    Some(unescape(&xml[start..end]))
}

/// Number of `<name>` or `<name …>` elements.
pub fn count(xml: &str, name: &str) -> usize {
    let open = format!("<{name}");
    xml.match_indices(&open)
        .filter(|(i, _)| matches!(xml.as_bytes().get(i + open.len()), Some(b'>') | Some(b' ') | Some(b'/')))
        .count()
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_counts() {
        let x = "<R><IsTruncated>true</IsTruncated><Version><VersionId>1</VersionId></Version>\
                 <DeleteMarker><Key>a&amp;b</Key></DeleteMarker><Version><Key>k</Key></Version>\
                 <NextKeyMarker>a&amp;b</NextKeyMarker></R>";
        assert_eq!(tag(x, "IsTruncated").as_deref(), Some("true"));
        assert_eq!(tag(x, "NextKeyMarker").as_deref(), Some("a&b"));
        assert_eq!(count(x, "Version"), 2);
        assert_eq!(count(x, "DeleteMarker"), 1);
        assert_eq!(tag(x, "Missing"), None);
    }
}
