//! Lists the tags of a repository page by page.
//!
//! ```sh
//! cargo run -p oci-dist --example list_tags -- 127.0.0.1:5000/team/app 100
//! ```
//!
//! Each page is requested when the previous one is printed (`n` tags per
//! request, following the registry's `Link` header), so a repository with
//! a million tags starts printing at once and memory stays flat.

use oci_dist::{Client, TryStreamExt};

#[tokio::main]
async fn main() -> oci_dist::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (repository, page_size) = match args.as_slice() {
        [repository] => (repository, 100),
        [repository, n] => (repository, n.parse().unwrap_or(100)),
        _ => {
            eprintln!("usage: list_tags REGISTRY/REPOSITORY [PAGE_SIZE]");
            std::process::exit(2);
        }
    };
    let (registry, path) = repository.split_once('/').unwrap_or((repository, ""));
    let app = Client::new(registry)?.with_segment(path);

    let mut pages = std::pin::pin!(app.list_tags_pages(page_size));
    let mut count = 0;
    while let Some(page) = pages.try_next().await? {
        count += 1;
        for tag in page {
            println!("{tag}");
        }
    }
    eprintln!("{count} page(s)");
    Ok(())
}
