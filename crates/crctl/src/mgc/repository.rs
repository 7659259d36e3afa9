//! A repository on the command line: its UUID or its name.

use std::str::FromStr;

use clap::Args;
use facade::mgc::{self, ErrorKind, RegistryId, RepositoryId};

use super::Ctx;

/// The `REPOSITORY_ID` argument: a UUID-shaped argument is the repository's
/// id; anything else is its name (e.g. `team/app`), resolved with one exact
/// look-up (`RepositoriesService::get_by_name`) before the UUID operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryArg {
    /// The repository's UUID.
    Id(RepositoryId),
    /// The repository's name.
    Name(String),
}

impl FromStr for RepositoryArg {
    type Err = mgc::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(id) = RepositoryId::parse(s) {
            Ok(RepositoryArg::Id(id))
        } else if s.is_empty() {
            Err(mgc::Error::new(
                ErrorKind::InvalidInput,
                "repository_id \"\" is not a UUID, nor a repository name",
            ))
        } else {
            Ok(RepositoryArg::Name(s.to_owned()))
        }
    }
}

/// `REGISTRY_ID REPOSITORY_ID`: the repository's registry and the repository.
#[derive(Debug, Args)]
pub struct RepositoryArgs {
    /// The registry ID (a UUID).
    pub registry_id: RegistryId,
    /// The repository: its ID (a UUID) or its exact name.
    #[arg(value_name = "REPOSITORY_ID")]
    pub repository: RepositoryArg,
}

impl RepositoryArgs {
    /// The repository's id: as given, or looked up by name (not found and
    /// ambiguous names are errors).
    pub async fn id(&self, ctx: &Ctx) -> Result<RepositoryId, mgc::Error> {
        match &self.repository {
            RepositoryArg::Id(id) => Ok(id.clone()),
            RepositoryArg::Name(name) => {
                let repositories = ctx.api.repositories();
                repositories.id_by_name(&self.registry_id, name).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shaped_is_an_id_anything_else_a_name() {
        let id = "ef376048-a0f7-446c-826b-1d5cb3e5a5b0";
        assert_eq!(
            id.parse::<RepositoryArg>().unwrap(),
            RepositoryArg::Id(id.parse().unwrap())
        );
        for name in [
            "alpine",
            "team/app",
            "ef376048-a0f7-446c-826b",
            "ef376048a0f7446c826b1d5cb3e5a5b0",
        ] {
            assert_eq!(
                name.parse::<RepositoryArg>().unwrap(),
                RepositoryArg::Name(name.to_owned())
            );
        }
        assert_eq!(
            "".parse::<RepositoryArg>().unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }
}
