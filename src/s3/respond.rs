//! Response construction: XML documents, empty responses, streamed bodies and error documents, all
//! carrying `x-amz-request-id`.

use super::error::S3Error;
use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Empty, Full};

/// The response body type: a boxed stream of bytes whose error aborts the connection.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// An empty body.
pub fn empty_body() -> Body {
    Empty::<Bytes>::new().map_err(|never| match never {}).boxed_unsync()
}

/// A body from bytes in memory (small documents only).
pub fn full_body(b: impl Into<Bytes>) -> Body {
    Full::new(b.into()).map_err(|never| match never {}).boxed_unsync()
}

/// Builder for a successful response.
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    pub fn empty(status: StatusCode) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: empty_body(),
        }
    }

    pub fn xml(body: String) -> Reply {
        Reply {
            status: StatusCode::OK,
            headers: vec![("content-type".into(), "application/xml".into())],
            body: full_body(body),
        }
    }

    #[must_use]
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Reply {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    #[must_use]
    pub fn opt_header(self, name: &str, value: Option<impl Into<String>>) -> Reply {
        match value {
            Some(v) => self.header(name, v),
            None => self,
        }
    }

    /// Finish into an HTTP response with the request id.
    pub fn into_response(self, request_id: &str) -> Response<Body> {
        let mut resp = Response::new(self.body);
        *resp.status_mut() = self.status;
        let h = resp.headers_mut();
        for (name, value) in self.headers {
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                h.append(n, v);
            } else if let Ok(n) = http::HeaderName::from_bytes(name.as_bytes()) {
                // Non-ASCII metadata: percent-encode, as S3 does not allow raw UTF-8 in headers.
                let enc = percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC).to_string();
                if let Ok(v) = HeaderValue::from_str(&enc) {
                    h.append(n, v);
                }
            }
        }
        common_headers(h, request_id);
        resp
    }
}

fn common_headers(h: &mut http::HeaderMap, request_id: &str) {
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amz-request-id", v.clone());
        h.insert("x-amz-id-2", v);
    }
    h.insert("server", HeaderValue::from_static("wormgate"));
}

/// The error document for `err`.
pub fn error_response(err: &S3Error, resource: &str, request_id: &str, head: bool) -> Response<Body> {
    let body = if head || err.status() == StatusCode::NOT_MODIFIED {
        empty_body()
    } else {
        full_body(err.to_xml(resource, request_id))
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = err.status();
    let h = resp.headers_mut();
    if !head {
        h.insert("content-type", HeaderValue::from_static("application/xml"));
    }
    for (name, value) in &err.headers {
        if let Ok(v) = HeaderValue::from_str(value) {
            h.insert(*name, v);
        }
    }
    common_headers(h, request_id);
    resp
}
