//! Where and as whom: `--region` / `--api-url`, and `--api-key` or
//! `--token` (each falling back to its environment variable; a flag wins
//! over the environment).

use clap::Args;
use facade::core::Secret;
use facade::core::host::is_loopback;
use facade::mgc::{API_KEY_ENV, MgcClient, Region, TOKEN_ENV};

use crate::cli::GlobalOptions;
use crate::connect::{self as clients, MgcCredential as Credential};
use crate::exit::Failure;

/// The connection options of `crctl mgc` (accepted before or after the
/// subcommand).
#[derive(Debug, Args)]
#[command(next_help_heading = "Magalu API")]
pub struct ConnectArgs {
    /// The region: br-se1, br-ne1 or br-mgl1.
    #[arg(
        long,
        global = true,
        env = "MGC_REGION",
        value_name = "REGION",
        default_value = "br-se1",
        value_parser = region
    )]
    region: Region,
    /// The API base URL, overriding --region (http:// only for a loopback
    /// host or with --plain-http).
    #[arg(long, global = true, env = "MGC_API_URL", value_name = "URL")]
    api_url: Option<String>,
    /// An API key, sent as X-API-Key [env: MGC_API_KEY].
    #[arg(long, global = true, value_name = "KEY", conflicts_with = "token")]
    api_key: Option<Secret>,
    /// A JWT access token, sent as `Authorization: Bearer` (a leading
    /// "Bearer " is accepted) [env: MGC_TOKEN].
    #[arg(long, global = true, value_name = "JWT")]
    token: Option<Secret>,
}

/// Parses `--region`; an empty value (an empty `MGC_REGION`) is the default.
fn region(raw: &str) -> Result<Region, String> {
    if raw.trim().is_empty() {
        return Ok(Region::default());
    }
    raw.parse()
        .map_err(|e: facade::mgc::Error| e.message().to_owned())
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `--api-key` or `--token`; otherwise `MGC_API_KEY`, then `MGC_TOKEN`.
fn credential(args: &ConnectArgs) -> Result<Credential, Failure> {
    if let Some(key) = &args.api_key {
        return Ok(Credential::ApiKey(key.clone()));
    }
    if let Some(token) = &args.token {
        return Ok(Credential::Token(token.clone()));
    }
    if let Some(key) = env(API_KEY_ENV) {
        return Ok(Credential::ApiKey(Secret::new(key)));
    }
    if let Some(token) = env(TOKEN_ENV) {
        return Ok(Credential::Token(Secret::new(token)));
    }
    Err(Failure::usage(format!(
        "no credentials: pass --api-key KEY or --token JWT (or set {API_KEY_ENV} or {TOKEN_ENV})"
    )))
}

/// Checks `--api-url`: http(s), no credentials; plain HTTP (which would
/// carry the API key in clear) only to a loopback host or with
/// `--plain-http`. The rest is checked by the client.
fn api_url(raw: &str, plain_http: bool) -> Result<String, Failure> {
    let bad = |why: &str| Failure::usage(format!("--api-url {raw:?}: {why}"));
    let uri: http::Uri = raw.trim().parse().map_err(|_| bad("not a URL"))?;
    let Some(authority) = uri.authority() else {
        return Err(bad("not an absolute http(s):// URL"));
    };
    if authority.as_str().contains('@') {
        return Err(bad(
            "credentials do not belong in the URL; use --api-key or --token",
        ));
    }
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if plain_http || is_loopback(authority.host()) => {}
        Some("http") => {
            return Err(bad(
                "refusing to send credentials over plain HTTP; pass --plain-http to allow it",
            ));
        }
        _ => return Err(bad("not an http(s):// URL")),
    }
    Ok(raw.trim().to_owned())
}

/// Builds the API client for `crctl mgc` (through
/// [`clients::mgc`], as every client is built); nothing is sent yet.
pub fn connect(args: &ConnectArgs, global: &GlobalOptions) -> Result<MgcClient, Failure> {
    let credential = credential(args)?;
    let api_url = match args.api_url.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(raw) => Some(api_url(raw, global.plain_http)?),
        None => None,
    };
    clients::mgc(global, args.region, api_url, credential)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_urls_are_checked() {
        for ok in [
            "https://api.magalu.cloud/br-se1/container-registry",
            "http://127.0.0.1:8080",
            "http://localhost:1/x",
            "http://[::1]:9",
        ] {
            assert!(api_url(ok, false).is_ok(), "{ok}");
        }
        assert!(api_url("http://mgc.example", true).is_ok());
        for (raw, why) in [
            ("http://mgc.example", "--plain-http"),
            ("ftp://mgc.example", "http(s)"),
            ("mgc.example", "http(s)://"),
            ("/v0", "absolute"),
            ("https://u:p@mgc.example", "credentials"),
            ("not a url", "not a URL"),
        ] {
            let err = api_url(raw, false).unwrap_err();
            assert_eq!(err.code, crate::exit::USAGE, "{raw}");
            assert!(err.message.contains(why), "{raw}: {}", err.message);
        }
    }

    #[test]
    fn regions_parse() {
        assert_eq!(region("br-ne1").unwrap(), Region::BrNe1);
        assert_eq!(region("BR-MGL1").unwrap(), Region::BrMgl1);
        assert_eq!(region("").unwrap(), Region::BrSe1);
        assert!(region("us-east-1").unwrap_err().contains("br-se1"));
    }
}
