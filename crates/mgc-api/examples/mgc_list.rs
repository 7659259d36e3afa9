//! Lists every registry of the account and the repositories in each.
//!
//! ```sh
//! MGC_API_KEY=... MGC_REGION=br-se1 cargo run -p mgc-api --example mgc_list
//! ```
//!
//! `MGC_API_URL` overrides the region's base URL (the tests point it at a
//! local fake of the API). Every list is walked page by page as it is
//! printed.

use mgc_api::{ListOptions, MgcClient, TryStreamExt};

#[tokio::main]
async fn main() -> Result<(), mgc_api::Error> {
    let mgc = MgcClient::from_env()?;
    let mut registries = std::pin::pin!(mgc.registries().list_stream(ListOptions::new()));
    while let Some(registry) = registries.try_next().await? {
        println!("{} {}", registry.id, registry.name);
        let mut repositories = std::pin::pin!(
            mgc.repositories()
                .list_stream(&registry.id, ListOptions::new())
        );
        while let Some(repository) = repositories.try_next().await? {
            println!("  {} ({} images)", repository.name, repository.image_count);
        }
    }
    Ok(())
}
