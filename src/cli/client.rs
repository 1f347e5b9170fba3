//! Client side of the admin API (`--endpoint URL`): requests signed with `SigV4` (aws-sigv4, the AWS
//! reference signer) using `WORMGATE_ACCESS_KEY` / `WORMGATE_SECRET_KEY`, sent over plain HTTP with
//! hyper-util's client.

use super::error::CliError;
use crate::encoding::encode_component;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::SystemTime;

/// Build `?a=b&c=d` from pairs, skipping `None` values.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let q: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", encode_component(v))))
        .collect();
    if q.is_empty() {
        String::new()
    } else {
        format!("?{}", q.join("&"))
    }
}

/// A signed-request client for one gateway.
pub struct AdminClient {
    endpoint: String,
    access_key: String,
    secret_key: String,
    region: String,
}

impl AdminClient {
    /// From `--endpoint` and the environment (`WORMGATE_ACCESS_KEY`, `WORMGATE_SECRET_KEY`,
    /// optional `WORMGATE_REGION`).
    pub fn from_env(endpoint: &str) -> Result<AdminClient, CliError> {
        let access_key = std::env::var("WORMGATE_ACCESS_KEY").ok().filter(|s| !s.is_empty());
        let secret_key = std::env::var("WORMGATE_SECRET_KEY").ok().filter(|s| !s.is_empty());
        let (Some(access_key), Some(secret_key)) = (access_key, secret_key) else {
            return Err(CliError::usage("--endpoint needs WORMGATE_ACCESS_KEY and WORMGATE_SECRET_KEY (an admin or auditor key) in the environment"));
        };
        let endpoint = endpoint.trim_end_matches('/').to_string();
        if !endpoint.starts_with("http://") {
            return Err(CliError::Usage(format!(
                "--endpoint {endpoint}: only http:// endpoints are supported by the admin client"
            )));
        }
        let region = std::env::var("WORMGATE_REGION")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "us-east-1".into());
        Ok(AdminClient {
            endpoint,
            access_key,
            secret_key,
            region,
        })
    }

    /// Send a signed request; `path_and_query` starts with `/`. Returns (status, body).
    pub async fn send(&self, method: &str, path_and_query: &str, body: Vec<u8>) -> Result<(u16, Vec<u8>), CliError> {
        let uri = format!("{}{}", self.endpoint, path_and_query);
        let identity =
            aws_credential_types::Credentials::new(&self.access_key, &self.secret_key, None, None, "wormgate-cli")
                .into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| CliError::step("signing parameters", e))?
            .into();
        let headers: [(&str, &str); 0] = [];
        let signable = SignableRequest::new(method, uri.clone(), headers.into_iter(), SignableBody::Bytes(&body))
            .map_err(|e| CliError::step("cannot sign request", e))?;
        let (instructions, _sig) = sign(signable, &params)
            .map_err(|e| CliError::step("cannot sign request", e))?
            .into_parts();
        let mut req = http::Request::builder()
            .method(method)
            .uri(&uri)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| CliError::step("bad request", e))?;
        instructions.apply_to_request_http1x(&mut req);
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let resp = client
            .request(req)
            .await
            .map_err(|e| CliError::step(format!("cannot reach {}", self.endpoint), e))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| CliError::step("reading the response", e))?
            .to_bytes();
        Ok((status, bytes.to_vec()))
    }

    /// Send and require a 2xx answer; returns the body.
    pub async fn call(&self, method: &str, path_and_query: &str, body: Vec<u8>) -> Result<Vec<u8>, CliError> {
        let (status, out) = self.send(method, path_and_query, body).await?;
        if !(200..300).contains(&status) {
            return Err(CliError::Refused {
                status,
                body: String::from_utf8_lossy(&out).trim().to_string(),
            });
        }
        Ok(out)
    }
}
