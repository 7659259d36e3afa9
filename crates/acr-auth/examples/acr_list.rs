//! Lists the repositories of an Azure Container Registry, and the tags of
//! the repositories named after the endpoint, through the metadata API
//! (`/acr/v1`).
//!
//! ```sh
//! AZURE_ACCESS_TOKEN=$(az account get-access-token --query accessToken -o tsv) \
//!     cargo run -p acr-auth --example acr_list -- myregistry.azurecr.io team/app
//! ```
//!
//! With `AZURE_ACCESS_TOKEN` set, the AAD token is exchanged for ACR tokens
//! (one exchange, then cached); without it the registry is read
//! anonymously, which works when anonymous pull is enabled.

use acr_auth::{
    AcrAuthenticator, AcrClient, ListRepositoriesOptions, ListTagsOptions, TryStreamExt,
};

#[tokio::main]
async fn main() -> Result<(), acr_auth::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((endpoint, repositories_to_open)) = args.split_first() else {
        eprintln!(
            "usage: acr_list ENDPOINT [REPOSITORY...]   (e.g. myregistry.azurecr.io team/app)"
        );
        std::process::exit(2);
    };
    let auth = match std::env::var_os(acr_auth::AZURE_ACCESS_TOKEN_ENV) {
        Some(_) => AcrAuthenticator::from_env()?,
        None => AcrAuthenticator::anonymous(),
    };
    let acr = AcrClient::new(endpoint, auth)?;

    let mut repositories =
        std::pin::pin!(acr.list_repositories(ListRepositoriesOptions::default()));
    while let Some(repository) = repositories.try_next().await? {
        println!("{repository}");
    }
    for repository in repositories_to_open {
        let tags: Vec<String> = acr
            .list_tags(repository, ListTagsOptions::default())
            .map_ok(|tag| tag.name)
            .try_collect()
            .await?;
        println!("{repository}: {}", tags.join(" "));
    }
    Ok(())
}
