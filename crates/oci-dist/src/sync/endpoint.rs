//! Where a sync reads and writes: registries and OCI layouts, behind one
//! trait so that other stores (bundles, `super::archive`) plug in unchanged.

use std::path::PathBuf;
use std::sync::Arc;

use registry_core::Error;

use crate::Client;
use crate::content::{BoxFuture, ImageDestination, ImageSource, MountOrigin};
use crate::layout::OciLayout;

/// A repository opened for a sync: read and written through the content
/// traits. Every type implementing both is one.
pub trait Store: ImageSource + ImageDestination {}

impl<T: ImageSource + ImageDestination> Store for T {}

/// Opens repositories for a sync and lists their tags.
///
/// ```
/// use oci_dist::sync::{Endpoint, RegistryEndpoint};
/// let e = RegistryEndpoint::new(oci_dist::Client::new("r.example").unwrap());
/// assert_eq!(e.describe(), "r.example");
/// assert!(e.mount_origin("org/app").is_some());
/// ```
pub trait Endpoint: Send + Sync {
    /// A short description: a host, a path.
    fn describe(&self) -> String;

    /// Opens `repository`; with `create`, for writing (a layout is created).
    /// Without it, a store that is not there is `NotFound`.
    fn open<'a>(
        &'a self,
        repository: &'a str,
        create: bool,
    ) -> BoxFuture<'a, Result<Arc<dyn Store>, Error>>;

    /// The tags of `repository`.
    fn list_tags<'a>(&'a self, repository: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>>;

    /// Where a blob stored in `repository` can be mounted from by another
    /// repository of this endpoint (registries only).
    fn mount_origin(&self, repository: &str) -> Option<MountOrigin> {
        let _ = repository;
        None
    }

    /// Ends a run that wrote to this endpoint, after
    /// [`execute`](super::execute): a bundle writes its `index.json` and
    /// puts the file in place; registries and layouts have nothing to do
    /// (the default). Call it once, when the stores it opened are dropped.
    fn finish(&self) -> BoxFuture<'_, Result<(), Error>> {
        Box::pin(async { Ok(()) })
    }
}

/// A registry: repositories are the client's repositories.
#[derive(Clone, Debug)]
pub struct RegistryEndpoint {
    client: Client,
}

impl RegistryEndpoint {
    /// Wraps a client (its repository scope is ignored).
    pub fn new(client: Client) -> RegistryEndpoint {
        RegistryEndpoint { client }
    }
}

impl Endpoint for RegistryEndpoint {
    fn describe(&self) -> String {
        self.client.host().to_owned()
    }

    fn open<'a>(
        &'a self,
        repository: &'a str,
        _create: bool,
    ) -> BoxFuture<'a, Result<Arc<dyn Store>, Error>> {
        let store: Arc<dyn Store> = Arc::new(self.client.with_repository(repository));
        Box::pin(async move { Ok(store) })
    }

    fn list_tags<'a>(&'a self, repository: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move { self.client.with_repository(repository).list_tags().await })
    }

    fn mount_origin(&self, repository: &str) -> Option<MountOrigin> {
        Some(MountOrigin {
            registry: self.client.host().to_owned(),
            repository: repository.to_owned(),
        })
    }
}

/// OCI layouts under a directory: repository `a/b` is the layout at
/// `ROOT/a/b` (as `skopeo sync --dest dir` lays out), the empty repository
/// the layout at `ROOT` itself.
///
/// ```
/// use oci_dist::sync::{Endpoint, LayoutEndpoint};
/// let e = LayoutEndpoint::new("/srv/mirror");
/// assert_eq!(e.describe(), "oci:/srv/mirror");
/// ```
#[derive(Clone, Debug)]
pub struct LayoutEndpoint {
    root: PathBuf,
}

impl LayoutEndpoint {
    /// Layouts under `root`.
    pub fn new(root: impl Into<PathBuf>) -> LayoutEndpoint {
        LayoutEndpoint { root: root.into() }
    }

    fn path(&self, repository: &str) -> Result<PathBuf, Error> {
        let mut p = self.root.clone();
        for c in repository.split('/').filter(|c| !c.is_empty()) {
            if c == "." || c == ".." || c.contains('\\') {
                return Err(Error::invalid_input(format!(
                    "repository {repository:?} cannot name a directory"
                )));
            }
            p.push(c);
        }
        Ok(p)
    }
}

impl Endpoint for LayoutEndpoint {
    fn describe(&self) -> String {
        format!("oci:{}", self.root.display())
    }

    fn open<'a>(
        &'a self,
        repository: &'a str,
        create: bool,
    ) -> BoxFuture<'a, Result<Arc<dyn Store>, Error>> {
        Box::pin(async move {
            // `create` opens a layout that is there; `open` of one that is
            // not is `NotFound`.
            let p = self.path(repository)?;
            let layout = match create {
                true => OciLayout::create(&p).await?,
                false => OciLayout::open(&p).await?,
            };
            Ok(Arc::new(layout) as Arc<dyn Store>)
        })
    }

    fn list_tags<'a>(&'a self, repository: &'a str) -> BoxFuture<'a, Result<Vec<String>, Error>> {
        Box::pin(async move {
            let layout = OciLayout::open(&self.path(repository)?).await?;
            let refs = layout.list_refs().await?;
            Ok(refs.into_iter().map(|(name, _)| name).collect())
        })
    }
}
