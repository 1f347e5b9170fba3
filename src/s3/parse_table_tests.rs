//! The router as a table: method + host + path + query + headers → the operation, its target and
//! its error, including the request forms of the AWS API reference and malformed inputs.

use super::*;
use crate::s3::error::S3Code;

/// What one row expects: the operation name and (bucket, key), or the error code.
enum Want {
    Op(&'static str, Option<&'static str>, Option<&'static str>),
    Err(S3Code),
}
use Want::{Err as E, Op as O};

struct Row {
    method: Method,
    host: &'static str,
    path: &'static str,
    query: &'static str,
    headers: &'static [(&'static str, &'static str)],
    /// The XML document; empty: a valid sample for the expected operation (see `sample_document`).
    doc: &'static str,
    want: Want,
}

fn row(method: Method, path: &'static str, query: &'static str, want: Want) -> Row {
    Row {
        method,
        host: "127.0.0.1:9000",
        path,
        query,
        headers: &[],
        doc: "",
        want,
    }
}

fn doc(mut r: Row, document: &'static str) -> Row {
    r.doc = document;
    r
}

const VERSIONING: &str = "<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>";
const LOCK: &str = "<ObjectLockConfiguration><ObjectLockEnabled>Enabled</ObjectLockEnabled></ObjectLockConfiguration>";
const DELETE: &str = "<Delete><Object><Key>k</Key></Object></Delete>";
const RETENTION: &str =
    "<Retention><Mode>COMPLIANCE</Mode><RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>";
const HOLD: &str = "<LegalHold><Status>ON</Status></LegalHold>";
const TAGGING: &str = "<Tagging><TagSet><Tag><Key>a</Key><Value>b</Value></Tag></TagSet></Tagging>";
const LIFECYCLE: &str = "<LifecycleConfiguration><Rule><ID>r</ID><Filter/><Status>Enabled</Status>\
    <NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>";
const COMPLETE: &str =
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"e\"</ETag></Part></CompleteMultipartUpload>";

/// A valid document for an operation that carries one (the rows name only the operation).
fn sample_document(want: &Want) -> &'static str {
    match want {
        Want::Op("PutBucketVersioning", ..) => VERSIONING,
        Want::Op("PutObjectLockConfiguration", ..) => LOCK,
        Want::Op("DeleteObjects", ..) => DELETE,
        Want::Op("PutObjectRetention", ..) => RETENTION,
        Want::Op("PutObjectLegalHold", ..) => HOLD,
        Want::Op("PutObjectTagging", ..) => TAGGING,
        Want::Op("CompleteMultipartUpload", ..) => COMPLETE,
        Want::Op("PutBucketLifecycleConfiguration", ..) => LIFECYCLE,
        _ => "",
    }
}

fn with(mut r: Row, host: &'static str, headers: &'static [(&'static str, &'static str)]) -> Row {
    r.host = host;
    r.headers = headers;
    r
}

#[test]
fn router_table() {
    let vh = "bucket-1.s3.example.test";
    let copy: &[(&str, &str)] = &[("x-amz-copy-source", "/src/obj")];
    let rows =
        vec![
        // Service and bucket level (AWS API reference request syntax).
        row(Method::GET, "/", "", O("ListBuckets", None, None)),
        row(Method::PUT, "/bucket-1", "", O("CreateBucket", Some("bucket-1"), None)),
        row(Method::HEAD, "/bucket-1", "", O("HeadBucket", Some("bucket-1"), None)),
        row(
            Method::DELETE,
            "/bucket-1",
            "",
            O("DeleteBucket", Some("bucket-1"), None),
        ),
        row(
            Method::GET,
            "/bucket-1",
            "location",
            O("GetBucketLocation", Some("bucket-1"), None),
        ),
        row(
            Method::GET,
            "/bucket-1",
            "versioning",
            O("GetBucketVersioning", Some("bucket-1"), None),
        ),
        row(
            Method::PUT,
            "/bucket-1",
            "versioning",
            O("PutBucketVersioning", Some("bucket-1"), None),
        ),
        row(
            Method::GET,
            "/bucket-1",
            "object-lock",
            O("GetObjectLockConfiguration", Some("bucket-1"), None),
        ),
        row(
            Method::PUT,
            "/bucket-1",
            "object-lock",
            O("PutObjectLockConfiguration", Some("bucket-1"), None),
        ),
        row(Method::GET, "/bucket-1", "", O("ListObjects", Some("bucket-1"), None)),
        row(
            Method::GET,
            "/bucket-1",
            "list-type=2&prefix=a%2Fb&delimiter=%2F",
            O("ListObjectsV2", Some("bucket-1"), None),
        ),
        row(
            Method::GET,
            "/bucket-1",
            "versions&key-marker=k&version-id-marker=v",
            O("ListObjectVersions", Some("bucket-1"), None),
        ),
        row(
            Method::GET,
            "/bucket-1",
            "uploads",
            O("ListMultipartUploads", Some("bucket-1"), None),
        ),
        row(
            Method::POST,
            "/bucket-1",
            "delete",
            O("DeleteObjects", Some("bucket-1"), None),
        ),
        row(
            Method::GET,
            "/bucket-1",
            "acl",
            O("GetBucketAcl", Some("bucket-1"), None),
        ),
        row(
            Method::PUT,
            "/bucket-1",
            "acl",
            O("PutBucketAcl", Some("bucket-1"), None),
        ),
        row(
            Method::GET,
            "/bucket-1",
            "lifecycle",
            O("GetBucketLifecycleConfiguration", Some("bucket-1"), None),
        ),
        with(
            row(
                Method::PUT,
                "/bucket-1",
                "lifecycle",
                O("PutBucketLifecycleConfiguration", Some("bucket-1"), None),
            ),
            "127.0.0.1:9000",
            &[("content-md5", "x")],
        ),
        // PUT ?lifecycle without Content-MD5 or a checksum: refused before the document is read.
        row(Method::PUT, "/bucket-1", "lifecycle", E(S3Code::InvalidRequest)),
        row(
            Method::DELETE,
            "/bucket-1",
            "lifecycle",
            O("DeleteBucketLifecycle", Some("bucket-1"), None),
        ),
        // Objects.
        row(
            Method::PUT,
            "/bucket-1/photos/2006/Jan/sample.jpg",
            "",
            O("PutObject", Some("bucket-1"), Some("photos/2006/Jan/sample.jpg")),
        ),
        row(
            Method::GET,
            "/bucket-1/my%20key",
            "",
            O("GetObject", Some("bucket-1"), Some("my key")),
        ),
        row(
            Method::HEAD,
            "/bucket-1/k",
            "",
            O("HeadObject", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::DELETE,
            "/bucket-1/k",
            "",
            O("DeleteObject", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::DELETE,
            "/bucket-1/k",
            "versionId=null",
            O("DeleteObject", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "versionId=00060d2e8e3a4f1c0000000000000007",
            O("GetObject", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "retention",
            O("GetObjectRetention", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::PUT,
            "/bucket-1/k",
            "retention",
            O("PutObjectRetention", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "legal-hold",
            O("GetObjectLegalHold", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::PUT,
            "/bucket-1/k",
            "legal-hold",
            O("PutObjectLegalHold", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "tagging",
            O("GetObjectTagging", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::PUT,
            "/bucket-1/k",
            "tagging",
            O("PutObjectTagging", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::DELETE,
            "/bucket-1/k",
            "tagging",
            O("DeleteObjectTagging", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "acl",
            O("GetObjectAcl", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::POST,
            "/bucket-1/k",
            "uploads",
            O("CreateMultipartUpload", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "uploadId=0000000000000001000000000000002a",
            O("ListParts", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::DELETE,
            "/bucket-1/k",
            "uploadId=0000000000000001000000000000002a",
            O("AbortMultipartUpload", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::POST,
            "/bucket-1/k",
            "uploadId=0000000000000001000000000000002a",
            O("CompleteMultipartUpload", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::PUT,
            "/bucket-1/k",
            "partNumber=1&uploadId=0000000000000001000000000000002a",
            O("UploadPart", Some("bucket-1"), Some("k")),
        ),
        with(
            row(
                Method::PUT,
                "/bucket-1/k",
                "partNumber=2&uploadId=0000000000000001000000000000002a",
                O("UploadPartCopy", Some("bucket-1"), Some("k")),
            ),
            "127.0.0.1:9000",
            copy,
        ),
        with(
            row(
                Method::PUT,
                "/bucket-1/k",
                "",
                O("CopyObject", Some("bucket-1"), Some("k")),
            ),
            "127.0.0.1:9000",
            copy,
        ),
        // GetObjectAttributes: the attribute list is required and checked name by name.
        with(
            row(
                Method::GET,
                "/bucket-1/k",
                "attributes",
                O("GetObjectAttributes", Some("bucket-1"), Some("k")),
            ),
            "127.0.0.1:9000",
            &[("x-amz-object-attributes", "ETag,Checksum, ObjectParts,StorageClass,ObjectSize")],
        ),
        row(Method::GET, "/bucket-1/k", "attributes", E(S3Code::InvalidRequest)),
        with(
            row(Method::GET, "/bucket-1/k", "attributes", E(S3Code::InvalidArgument)),
            "127.0.0.1:9000",
            &[("x-amz-object-attributes", "ETag,Colour")],
        ),
        with(
            row(Method::GET, "/bucket-1/k", "attributes", E(S3Code::InvalidArgument)),
            "127.0.0.1:9000",
            &[("x-amz-object-attributes", "ETag"), ("x-amz-max-parts", "-1")],
        ),
        // Virtual-hosted style: the bucket comes from the Host header.
        with(
            row(
                Method::GET,
                "/",
                "list-type=2",
                O("ListObjectsV2", Some("bucket-1"), None),
            ),
            vh,
            &[],
        ),
        with(
            row(
                Method::PUT,
                "/a/b.txt",
                "retention",
                O("PutObjectRetention", Some("bucket-1"), Some("a/b.txt")),
            ),
            vh,
            &[],
        ),
        // Things wormgate does not do are named, not guessed.
        row(
            Method::GET,
            "/bucket-1",
            "website",
            O("GetBucketConfiguration", Some("bucket-1"), None),
        ),
        row(
            Method::POST,
            "/bucket-1/k",
            "restore",
            O("NotImplemented", Some("bucket-1"), Some("k")),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "torrent",
            O("NotImplemented", Some("bucket-1"), Some("k")),
        ),
        // Malformed input.
        row(Method::PUT, "/ab", "", E(S3Code::InvalidBucketName)),
        row(Method::PUT, "/Bucket_Upper", "", E(S3Code::InvalidBucketName)),
        row(
            Method::PUT,
            "/bucket-1/k",
            "partNumber=0&uploadId=0000000000000001000000000000002a",
            E(S3Code::InvalidArgument),
        ),
        row(
            Method::PUT,
            "/bucket-1/k",
            "partNumber=10001&uploadId=0000000000000001000000000000002a",
            E(S3Code::InvalidArgument),
        ),
        row(
            Method::GET,
            "/bucket-1/k",
            "versionId=not-a-version",
            E(S3Code::InvalidArgument),
        ),
        // Documents are parsed by the router: a wrong or broken document is refused there.
        doc(
            row(Method::PUT, "/bucket-1/k", "retention", E(S3Code::MalformedXML)),
            HOLD,
        ),
        doc(
            row(Method::PUT, "/bucket-1/k", "retention", E(S3Code::MalformedXML)),
            "<Retention><Mode>COMPLIANCE",
        ),
        doc(
            row(Method::PUT, "/bucket-1/k", "legal-hold", E(S3Code::MalformedXML)),
            "<LegalHold><Status>on</Status></LegalHold>",
        ),
        doc(
            row(Method::POST, "/bucket-1", "delete", E(S3Code::MalformedXML)),
            "<Delete></Delete>",
        ),
        doc(
            row(Method::PUT, "/bucket-1", "versioning", E(S3Code::NotImplemented)),
            "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>",
        ),
        doc(
            row(Method::PUT, "/bucket-1", "object-lock", E(S3Code::MalformedXML)),
            "<ObjectLockConfiguration><ObjectLockEnabled>Disabled</ObjectLockEnabled></ObjectLockConfiguration>",
        ),
        doc(
            row(Method::PUT, "/bucket-1/k", "tagging", E(S3Code::InvalidTag)),
            "<Tagging><TagSet><Tag><Key></Key><Value>v</Value></Tag></TagSet></Tagging>",
        ),
        doc(
            row(Method::PUT, "/bucket-1", "", E(S3Code::MalformedXML)),
            "<NotABucketConfiguration/>",
        ),
    ];
    let mut failures = Vec::new();
    for r in &rows {
        let mut headers = HeaderMap::new();
        for (k, v) in r.headers {
            headers.insert(
                http::header::HeaderName::from_static(k),
                http::HeaderValue::from_static(v),
            );
        }
        let addressing = Addressing {
            domain: Some("s3.example.test".into()),
        };
        let document = if r.doc.is_empty() {
            sample_document(&r.want)
        } else {
            r.doc
        };
        let got = parse_op_with(
            &r.method,
            Some(r.host),
            r.path,
            r.query,
            &headers,
            &addressing,
            document,
        );
        let ok = match (&r.want, &got) {
            (Want::Op(name, b, k), Ok(op)) => op.name() == *name && op.target() == (*b, *k),
            (Want::Err(code), Err(e)) => e.code == *code,
            _ => false,
        };
        if !ok {
            let got = match &got {
                Ok(op) => format!("{} {:?}", op.name(), op.target()),
                Err(e) => format!("{:?}: {}", e.code, e.message),
            };
            failures.push(format!("{} {}?{} -> {got}", r.method, r.path, r.query));
        }
    }
    assert!(failures.is_empty(), "router rows that differ:\n{}", failures.join("\n"));
    assert!(rows.len() >= 45);
}

/// A key longer than 1024 bytes is refused, as AWS does.
#[test]
fn key_length_limit() {
    let long = format!("/bucket-1/{}", "k".repeat(1025));
    let got = parse_op(
        &Method::PUT,
        Some("127.0.0.1:9000"),
        &long,
        "",
        &HeaderMap::new(),
        &Addressing::default(),
    );
    assert_eq!(got.unwrap_err().code, S3Code::KeyTooLongError);
    let ok = format!("/bucket-1/{}", "k".repeat(1024));
    assert!(parse_op(
        &Method::PUT,
        Some("127.0.0.1:9000"),
        &ok,
        "",
        &HeaderMap::new(),
        &Addressing::default()
    )
    .is_ok());
}

/// The typed document travels in the Op: the handler gets values, never XML.
#[test]
fn documents_arrive_typed() {
    let a = Addressing::default();
    let h = HeaderMap::new();
    let got = parse_op_with(&Method::PUT, None, "/bucket-1/k", "retention", &h, &a, RETENTION).unwrap();
    let Op::PutObjectRetention { retention, .. } = got else {
        panic!("{got:?}");
    };
    assert_eq!(retention.mode, Some(crate::lock::RequestedMode::Compliance));
    let got = parse_op_with(&Method::POST, None, "/bucket-1", "delete", &h, &a, DELETE).unwrap();
    let Op::DeleteObjects { request, .. } = got else {
        panic!("{got:?}");
    };
    assert_eq!(request.objects.len(), 1);
    assert_eq!(request.objects[0].key, "k");
    // A GET never reads a document (it would have been refused as MalformedXML).
    assert!(parse_op_with(&Method::GET, None, "/bucket-1/k", "retention", &h, &a, "garbage").is_ok());
}

/// The request-header table: each header that implies functionality, on the operations that take it,
/// gets its AWS answer — honoured (the operation), refused (`NotImplemented` routed as an op, or the
/// AWS error), or ignored where AWS ignores it.
#[test]
fn request_header_table() {
    enum Then {
        Routes(&'static str),
        Fails(S3Code),
    }
    use Then::*;
    /// (method, path, query), header name, header value, expected.
    type HeaderRow = ((Method, &'static str, &'static str), &'static str, &'static str, Then);
    let put = (Method::PUT, "/bucket-1/k", "");
    let get = (Method::GET, "/bucket-1/k", "");
    let create = (Method::PUT, "/bucket-1", "");
    let mpu = (Method::POST, "/bucket-1/k", "uploads");
    let rows: Vec<HeaderRow> = vec![
        (put.clone(), "x-amz-write-offset-bytes", "0", Routes("NotImplemented")),
        (
            put.clone(),
            "x-amz-website-redirect-location",
            "/other",
            Routes("NotImplemented"),
        ),
        (
            put.clone(),
            "x-amz-server-side-encryption",
            "AES256",
            Routes("NotImplemented"),
        ),
        (
            put.clone(),
            "x-amz-server-side-encryption",
            "aws:kms",
            Routes("NotImplemented"),
        ),
        (
            put.clone(),
            "x-amz-server-side-encryption",
            "rot13",
            Fails(S3Code::InvalidArgument),
        ),
        (
            put.clone(),
            "x-amz-server-side-encryption-aws-kms-key-id",
            "k",
            Routes("NotImplemented"),
        ),
        (
            put.clone(),
            "x-amz-server-side-encryption-customer-algorithm",
            "AES256",
            Routes("NotImplemented"),
        ),
        (
            get.clone(),
            "x-amz-server-side-encryption-customer-key",
            "a2V5",
            Routes("NotImplemented"),
        ),
        (
            put.clone(),
            "x-amz-copy-source-server-side-encryption-customer-key-md5",
            "x",
            Routes("NotImplemented"),
        ),
        (put.clone(), "x-amz-storage-class", "STANDARD", Routes("PutObject")),
        (mpu.clone(), "x-amz-storage-class", "GLACIER", Routes("NotImplemented")),
        (
            put.clone(),
            "x-amz-storage-class",
            "COLD",
            Fails(S3Code::InvalidStorageClass),
        ),
        (put.clone(), "x-amz-acl", "private", Routes("PutObject")),
        (
            put.clone(),
            "x-amz-acl",
            "bucket-owner-full-control",
            Routes("PutObject"),
        ),
        (
            put.clone(),
            "x-amz-acl",
            "public-read",
            Fails(S3Code::AccessControlListNotSupported),
        ),
        (
            create.clone(),
            "x-amz-acl",
            "public-read-write",
            Fails(S3Code::AccessControlListNotSupported),
        ),
        (create.clone(), "x-amz-acl", "everyone", Fails(S3Code::InvalidArgument)),
        (
            put.clone(),
            "x-amz-grant-read",
            "uri=http://acs.amazonaws.com/groups/global/AllUsers",
            Fails(S3Code::AccessControlListNotSupported),
        ),
        (
            create.clone(),
            "x-amz-grant-full-control",
            "id=wormgate",
            Fails(S3Code::AccessControlListNotSupported),
        ),
        (
            create.clone(),
            "x-amz-object-ownership",
            "BucketOwnerEnforced",
            Routes("CreateBucket"),
        ),
        (
            create.clone(),
            "x-amz-object-ownership",
            "ObjectWriter",
            Fails(S3Code::InvalidRequest),
        ),
        (
            create.clone(),
            "x-amz-object-ownership",
            "Anyone",
            Fails(S3Code::InvalidArgument),
        ),
        (
            get.clone(),
            "x-amz-expected-bucket-owner",
            "wormgate",
            Routes("GetObject"),
        ),
        (
            get.clone(),
            "x-amz-expected-bucket-owner",
            "123456789012",
            Fails(S3Code::AccessDenied),
        ),
        (
            put.clone(),
            "x-amz-source-expected-bucket-owner",
            "123456789012",
            Fails(S3Code::AccessDenied),
        ),
        (get.clone(), "x-amz-request-payer", "requester", Routes("GetObject")),
        (
            (Method::DELETE, "/bucket-1/k", ""),
            "x-amz-mfa",
            "123 456",
            Routes("NotImplemented"),
        ),
        (
            (Method::DELETE, "/bucket-1/k", ""),
            "x-amz-if-match-size",
            "5",
            Routes("NotImplemented"),
        ),
        (
            (Method::DELETE, "/bucket-1/k", ""),
            "x-amz-bypass-governance-retention",
            "true",
            Routes("DeleteObject"),
        ),
    ];
    let mut failures = Vec::new();
    for ((method, path, query), name, value, then) in &rows {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::HeaderName::from_static(name),
            http::HeaderValue::from_static(value),
        );
        let got = parse_op(method, Some("127.0.0.1:9000"), path, query, &h, &Addressing::default());
        let ok = match (then, &got) {
            (Routes(n), Ok(op)) => op.name() == *n,
            (Fails(c), Err(e)) => e.code == *c,
            _ => false,
        };
        if !ok {
            failures.push(format!("{method} {path}?{query} {name}: {value} -> {got:?}"));
        }
    }
    assert!(failures.is_empty(), "header rows that differ:\n{}", failures.join("\n"));
    // Every header of the table has at least one row here.
    for (name, _) in REQUEST_HEADER_RULES {
        let covered = rows.iter().any(|r| r.1 == *name)
            || name.starts_with("x-amz-grant-")
            || name.starts_with("x-amz-server-side-encryption")
            || name.starts_with("x-amz-copy-source-server-side-encryption")
            || name.starts_with("x-amz-if-match-");
        assert!(covered, "no row for {name}");
    }
}

/// The access stance documents: all four public-access blocks on, `BucketOwnerEnforced`.
#[test]
fn access_stance_routes() {
    let a = Addressing::default();
    let h = HeaderMap::new();
    let pab = "<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls></PublicAccessBlockConfiguration>";
    let got = parse_op_with(&Method::PUT, None, "/bucket-1", "publicAccessBlock", &h, &a, pab).unwrap();
    assert!(
        matches!(
            got,
            Op::PutPublicAccessBlock {
                all_blocked: false,
                delete: false,
                ..
            }
        ),
        "{got:?}"
    );
    let got = parse_op(&Method::DELETE, None, "/bucket-1", "ownershipControls", &h, &a).unwrap();
    assert_eq!(got.name(), "DeleteBucketOwnershipControls");
}
