//! `AcrTokenClient` (the Go SDK's `AuthenticationClient`) against the fake
//! ACR token endpoints over real HTTP on 127.0.0.1: each exchange, the
//! exact form fields the fake received, refusals, and tokens kept out of
//! `Debug` and errors. One test takes the tokens to a real
//! `docker-registry` in token-auth mode.

use acr_auth::{
    AadExchangeOptions, AcrRefreshToken, AcrTokenClient, ExchangeGrantType, TokenGrantType,
};
use http::Request;
use registry_core::auth::Scopes;
use registry_core::{Body, ErrorKind, HttpClient};
use test_support::fake_acr::{
    AAD_TENANT, AcrTokenService, FakeAcr, REFRESH_TOKEN, SERVICE, TOKEN_SERVICE, aad_refresh_token,
    aad_token, form_fields,
};
use test_support::http::RecordedRequest;

const AAD_ACCESS: &str = "aad-access-secret";
const AAD_REFRESH: &str = "aad-refresh-secret";
const TENANT: &str = "tenant-7";

/// A fake ACR accepting [`AAD_ACCESS`] and [`AAD_REFRESH`] of [`TENANT`],
/// and a token client for it that does not retry.
async fn fake() -> (FakeAcr, AcrTokenClient) {
    let acr = FakeAcr::builder()
        .aad_token(AAD_ACCESS)
        .aad_refresh_token(AAD_REFRESH)
        .tenant(TENANT)
        .start()
        .await;
    let http = HttpClient::builder().max_attempts(1).build().unwrap();
    let client = AcrTokenClient::from_http(&acr.url(), http).unwrap();
    (acr, client)
}

fn fields(r: &RecordedRequest) -> Vec<(String, String)> {
    form_fields(r)
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn an_aad_access_token_is_exchanged_with_and_without_a_tenant() {
    let (acr, tokens) = fake().await;
    let refresh = tokens
        .exchange_aad_token(
            ExchangeGrantType::AccessToken,
            SERVICE,
            AadExchangeOptions::new()
                .access_token(AAD_ACCESS)
                .tenant(TENANT),
        )
        .await
        .unwrap();
    assert_eq!(refresh.expose(), REFRESH_TOKEN);
    let refresh = tokens
        .exchange_aad_token(
            ExchangeGrantType::AccessToken,
            SERVICE,
            AadExchangeOptions::new().access_token(AAD_ACCESS),
        )
        .await
        .unwrap();
    assert_eq!(refresh.expose(), REFRESH_TOKEN);

    let sent: Vec<_> = acr.exchanges().iter().map(fields).collect();
    assert_eq!(
        sent,
        [
            pairs(&[
                ("grant_type", "access_token"),
                ("service", SERVICE),
                ("tenant", TENANT),
                ("access_token", AAD_ACCESS),
            ]),
            pairs(&[
                ("grant_type", "access_token"),
                ("service", SERVICE),
                ("access_token", AAD_ACCESS),
            ]),
        ]
    );
    let r = &acr.exchanges()[0];
    assert_eq!(
        r.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.method, http::Method::POST);
    assert!(acr.token_requests().is_empty());
}

#[tokio::test]
async fn an_aad_refresh_token_is_exchanged_alone_or_with_the_access_token() {
    let (acr, tokens) = fake().await;
    let refresh = tokens
        .exchange_aad_token(
            ExchangeGrantType::RefreshToken,
            SERVICE,
            AadExchangeOptions::new().refresh_token(AAD_REFRESH),
        )
        .await
        .unwrap();
    assert_eq!(refresh.expose(), REFRESH_TOKEN);
    let refresh = tokens
        .exchange_aad_token(
            ExchangeGrantType::AccessTokenRefreshToken,
            SERVICE,
            AadExchangeOptions::new()
                .access_token(AAD_ACCESS)
                .refresh_token(AAD_REFRESH)
                .tenant(TENANT),
        )
        .await
        .unwrap();
    assert_eq!(refresh.expose(), REFRESH_TOKEN);

    let sent: Vec<_> = acr.exchanges().iter().map(fields).collect();
    assert_eq!(
        sent,
        [
            pairs(&[
                ("grant_type", "refresh_token"),
                ("service", SERVICE),
                ("refresh_token", AAD_REFRESH),
            ]),
            pairs(&[
                ("grant_type", "access_token_refresh_token"),
                ("service", SERVICE),
                ("tenant", TENANT),
                ("access_token", AAD_ACCESS),
                ("refresh_token", AAD_REFRESH),
            ]),
        ]
    );
}

#[tokio::test]
async fn refused_exchanges_are_clear_errors_without_the_tokens() {
    let (acr, tokens) = fake().await;
    // A grant without the token it needs is refused before sending.
    for (grant, options) in [
        (
            ExchangeGrantType::AccessToken,
            AadExchangeOptions::new().refresh_token(AAD_REFRESH),
        ),
        (
            ExchangeGrantType::RefreshToken,
            AadExchangeOptions::new().access_token(AAD_ACCESS),
        ),
        (
            ExchangeGrantType::AccessTokenRefreshToken,
            AadExchangeOptions::new().access_token(AAD_ACCESS),
        ),
    ] {
        let err = tokens
            .exchange_aad_token(grant.clone(), SERVICE, options)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{grant}: {err}");
        assert!(err.to_string().contains(grant.as_str()), "{err}");
    }
    assert_eq!(acr.request_count(), 0, "nothing was sent");

    // The service refuses a wrong token, or the wrong tenant.
    for options in [
        AadExchangeOptions::new().access_token("wrong-aad-secret"),
        AadExchangeOptions::new()
            .access_token(AAD_ACCESS)
            .tenant("other-tenant"),
    ] {
        let err = tokens
            .exchange_aad_token(ExchangeGrantType::AccessToken, SERVICE, options)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
        let shown = format!("{err} {err:?}");
        assert!(shown.contains("exchanging the AAD token"), "{shown}");
        assert!(shown.contains("UNAUTHORIZED"), "{shown}");
        assert!(!shown.contains("aad-secret") && !shown.contains(AAD_ACCESS));
    }
    let sent: Vec<_> = acr.exchanges().iter().map(fields).collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1][2], ("tenant".to_owned(), "other-tenant".to_owned()));

    // An open-ended grant type is sent as given (and refused by the fake).
    let err = tokens
        .exchange_aad_token(
            ExchangeGrantType::Other("client_credentials".into()),
            SERVICE,
            AadExchangeOptions::new().access_token(AAD_ACCESS),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(http::StatusCode::BAD_REQUEST));
    assert_eq!(
        fields(&acr.exchanges()[2])[0],
        ("grant_type".to_owned(), "client_credentials".to_owned())
    );
}

#[tokio::test]
async fn a_refresh_token_is_exchanged_for_an_access_token_with_either_grant() {
    let (acr, tokens) = fake().await;
    let refresh = AcrRefreshToken::new(REFRESH_TOKEN);
    let catalog = Scopes::parse_param("registry:catalog:*");
    let access = tokens
        .exchange_refresh_token(SERVICE, &catalog, &refresh, TokenGrantType::RefreshToken)
        .await
        .unwrap();
    assert_eq!(access.expose(), "at|registry:catalog:*");
    let two = Scopes::parse_param("repository:app:metadata_read repository:app:delete");
    let access2 = tokens
        .exchange_refresh_token(SERVICE, &two, &refresh, TokenGrantType::Password)
        .await
        .unwrap();
    assert_eq!(access2.expose(), format!("at|{}", two.key()));

    let sent: Vec<_> = acr.token_requests().iter().map(fields).collect();
    assert_eq!(
        sent,
        [
            pairs(&[
                ("grant_type", "refresh_token"),
                ("service", SERVICE),
                ("scope", "registry:catalog:*"),
                ("refresh_token", REFRESH_TOKEN),
            ]),
            pairs(&[
                ("grant_type", "password"),
                ("service", SERVICE),
                ("scope", &two.key()),
                ("refresh_token", REFRESH_TOKEN),
            ]),
        ]
    );
    assert!(acr.exchanges().is_empty());

    // The access token opens the metadata API.
    let resp = HttpClient::builder()
        .build()
        .unwrap()
        .send(
            Request::get(format!(
                "{}/acr/v1/_catalog?api-version=2021-07-01",
                acr.url()
            ))
            .header("authorization", format!("Bearer {}", access.expose()))
            .body(Body::empty())
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // A refresh token the service does not know is refused.
    let err = tokens
        .exchange_refresh_token(
            SERVICE,
            &catalog,
            &AcrRefreshToken::new("stale-refresh-secret"),
            TokenGrantType::RefreshToken,
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(!format!("{err} {err:?}").contains("stale-refresh-secret"));
}

#[tokio::test]
async fn anonymous_access_sends_password_and_an_empty_refresh_token() {
    let (acr, tokens) = fake().await;
    let err = tokens
        .anonymous_access_token(SERVICE, &Scopes::parse_param("repository:app:pull"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
    assert!(
        err.to_string().contains("anonymous access is not allowed"),
        "{err}"
    );
    let sent: Vec<_> = acr.token_requests().iter().map(fields).collect();
    assert_eq!(
        sent,
        [pairs(&[
            ("grant_type", "password"),
            ("service", SERVICE),
            ("scope", "repository:app:pull"),
            ("refresh_token", ""),
        ])]
    );
}

#[tokio::test]
async fn tokens_and_options_keep_their_secrets_out_of_debug() {
    let (_acr, tokens) = fake().await;
    let refresh = tokens
        .exchange_aad_token(
            ExchangeGrantType::AccessToken,
            SERVICE,
            AadExchangeOptions::new().access_token(AAD_ACCESS),
        )
        .await
        .unwrap();
    let access = tokens
        .exchange_refresh_token(
            SERVICE,
            &Scopes::parse_param("registry:catalog:*"),
            &refresh,
            TokenGrantType::RefreshToken,
        )
        .await
        .unwrap();
    let dbg = format!("{refresh:?} {access:?}");
    assert!(dbg.contains("AcrRefreshToken") && dbg.contains("AcrAccessToken"));
    assert!(dbg.contains("<redacted>"), "{dbg}");
    assert!(!dbg.contains(REFRESH_TOKEN), "{dbg}");
    assert!(!dbg.contains("at|"), "{dbg}");
    // Only the explicit accessors show them.
    assert_eq!(refresh.expose(), REFRESH_TOKEN);
    assert_eq!(refresh.secret().expose(), REFRESH_TOKEN);
    assert!(access.expose().starts_with("at|"));
    let opts = AadExchangeOptions::new()
        .access_token(AAD_ACCESS)
        .refresh_token(AAD_REFRESH)
        .tenant(TENANT);
    let dbg = format!("{opts:?}");
    assert!(dbg.contains(TENANT), "{dbg}");
    assert!(
        !dbg.contains(AAD_ACCESS) && !dbg.contains(AAD_REFRESH),
        "{dbg}"
    );
    assert!(!format!("{tokens:?}").contains("secret"));
}

#[tokio::test]
async fn tokens_from_an_aad_refresh_token_open_a_real_registry() {
    let acr = AcrTokenService::start(false).await;
    let registry = acr.registry().await;
    let http = HttpClient::builder().max_attempts(1).build().unwrap();
    // As from the registry's challenge: the realm names the token service.
    let tokens = AcrTokenClient::for_realm(&acr.realm(), http.clone()).unwrap();
    let refresh = tokens
        .exchange_aad_token(
            ExchangeGrantType::RefreshToken,
            TOKEN_SERVICE,
            AadExchangeOptions::new()
                .refresh_token(aad_refresh_token())
                .tenant(AAD_TENANT),
        )
        .await
        .unwrap();
    assert!(refresh.expires_on().is_some(), "a JWT refresh token");
    let access = tokens
        .exchange_refresh_token(
            TOKEN_SERVICE,
            &Scopes::parse_param("registry:catalog:*"),
            &refresh,
            TokenGrantType::RefreshToken,
        )
        .await
        .unwrap();
    assert!(access.expires_on().is_some(), "a JWT access token");

    let catalog = |token: Option<String>| {
        let http = http.clone();
        let url = format!("{}/v2/_catalog", registry.url());
        async move {
            let mut req = Request::get(url);
            if let Some(t) = token {
                req = req.header("authorization", format!("Bearer {t}"));
            }
            http.send(req.body(Body::empty()).unwrap())
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(catalog(None).await, 401);
    assert_eq!(catalog(Some(access.expose().to_owned())).await, 200);

    let exchanges: Vec<_> = acr.exchanges().iter().map(fields).collect();
    assert_eq!(
        exchanges,
        [pairs(&[
            ("grant_type", "refresh_token"),
            ("service", TOKEN_SERVICE),
            ("tenant", AAD_TENANT),
            ("refresh_token", &aad_refresh_token()),
        ])]
    );
    // The AAD access token is not accepted as the AAD refresh token.
    let err = tokens
        .exchange_aad_token(
            ExchangeGrantType::RefreshToken,
            TOKEN_SERVICE,
            AadExchangeOptions::new().refresh_token(aad_token()),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unauthorized);
}
