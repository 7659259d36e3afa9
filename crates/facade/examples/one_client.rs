//! One dependency, three services, one error type: lists the tags of an OCI
//! repository, the registries of a Magalu Cloud account and the
//! repositories of an Azure Container Registry.
//!
//! ```sh
//! MGC_API_KEY=... AZURE_ACCESS_TOKEN=... cargo run -p facade --example one_client -- \
//!     registry.example.com/team/app myregistry.azurecr.io
//! ```
//!
//! The Magalu part runs when `MGC_API_KEY` or `MGC_TOKEN` is set
//! (`MGC_API_URL` overrides the region's URL); the Azure part when an ACR
//! endpoint is given (anonymous unless `AZURE_ACCESS_TOKEN` is set).

use facade::acr::{AZURE_ACCESS_TOKEN_ENV, ListRepositoriesOptions, StaticTokenCredential};
use facade::oci::TryStreamExt;
use facade::{Azure, Magalu, Registry};

#[tokio::main]
async fn main() -> Result<(), facade::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (repository, acr_endpoint) = match args.as_slice() {
        [repository] => (repository, None),
        [repository, acr] => (repository, Some(acr)),
        _ => {
            eprintln!("usage: one_client REGISTRY/REPOSITORY [ACR_ENDPOINT]");
            std::process::exit(2);
        }
    };

    // Any OCI registry (credentials from the Docker config when it has some).
    let (host, path) = repository.split_once('/').unwrap_or((repository, ""));
    let app = Registry::builder(host)
        .docker_config(true)
        .build()?
        .with_segment(path);
    println!(
        "oci {}: {}",
        app.registry(),
        app.list_tags().await?.join(" ")
    );

    // Magalu Cloud's management API; its errors convert into facade::Error.
    if ["MGC_API_KEY", "MGC_TOKEN"]
        .iter()
        .any(|v| std::env::var_os(v).is_some())
    {
        let mgc = Magalu::from_env()?;
        let registries = mgc.api().registries().list(Default::default()).await?;
        for registry in registries.results {
            println!("mgc registry {} {}", registry.id, registry.name);
        }
    }

    // Azure Container Registry's metadata API.
    if let Some(endpoint) = acr_endpoint {
        let builder = Azure::builder(endpoint.as_str());
        let azure = match std::env::var_os(AZURE_ACCESS_TOKEN_ENV) {
            Some(_) => builder.credential(StaticTokenCredential::from_env()?),
            None => builder.anonymous(),
        }
        .build()?;
        let repositories: Vec<String> = azure
            .metadata()
            .list_repositories(ListRepositoriesOptions::default())
            .try_collect()
            .await?;
        println!("acr {endpoint}: {}", repositories.join(" "));
    }
    Ok(())
}
