//! The open string enums of the metadata and token APIs (architecture,
//! operating system, content type, grant types), each with its known
//! values in `ALL` (the seed's `Possible*Values()`).

registry_core::open_enum! {
    /// A CPU architecture (Go's `GOARCH` names), an open enum.
    ///
    /// ```
    /// use acr_auth::Architecture;
    /// assert_eq!(Architecture::from("arm64"), Architecture::Arm64);
    /// assert_eq!(Architecture::from("loong64"), Architecture::Other("loong64".into()));
    /// assert_eq!(Architecture::I386.as_str(), "386");
    /// assert_eq!(Architecture::ALL.len(), 13);
    /// assert_eq!(Architecture::ALL[0].as_str(), "amd64");
    /// assert!(Architecture::ALL.iter().all(|a| Architecture::from(a.as_str()) == *a));
    /// ```
    Architecture {
        /// `amd64`
        Amd64 = "amd64",
        /// `arm`
        Arm = "arm",
        /// `arm64`
        Arm64 = "arm64",
        /// `386`
        I386 = "386",
        /// `mips`
        Mips = "mips",
        /// `mips64`
        Mips64 = "mips64",
        /// `mips64le`
        Mips64Le = "mips64le",
        /// `mipsle`
        MipsLe = "mipsle",
        /// `ppc64`
        Ppc64 = "ppc64",
        /// `ppc64le` (the spec's enum also spells it `ppc641e`)
        Ppc64Le = "ppc64le" | "ppc641e",
        /// `riscv64`
        RiscV64 = "riscv64",
        /// `s390x`
        S390x = "s390x",
        /// `wasm`
        Wasm = "wasm",
    }
}

registry_core::open_enum! {
    /// An operating system (Go's `GOOS` names), an open enum.
    ///
    /// ```
    /// use acr_auth::OperatingSystem;
    /// assert_eq!(OperatingSystem::from("linux"), OperatingSystem::Linux);
    /// assert_eq!(OperatingSystem::from("haiku").as_str(), "haiku");
    /// assert_eq!(OperatingSystem::ALL.len(), 14);
    /// assert!(OperatingSystem::ALL.contains(&OperatingSystem::Linux));
    /// ```
    OperatingSystem {
        /// `aix`
        Aix = "aix",
        /// `android`
        Android = "android",
        /// `darwin`
        Darwin = "darwin",
        /// `dragonfly`
        Dragonfly = "dragonfly",
        /// `freebsd`
        FreeBsd = "freebsd",
        /// `ios`
        Ios = "ios",
        /// `illumos`
        Illumos = "illumos",
        /// `js`
        Js = "js",
        /// `linux`
        Linux = "linux",
        /// `netbsd`
        NetBsd = "netbsd",
        /// `openbsd`
        OpenBsd = "openbsd",
        /// `plan9`
        Plan9 = "plan9",
        /// `solaris`
        Solaris = "solaris",
        /// `windows`
        Windows = "windows",
    }
}

registry_core::open_enum! {
    /// The media type of a manifest upload, an open enum (the Go SDK's
    /// `ContentType`).
    ///
    /// ```
    /// use acr_auth::ContentType;
    /// assert_eq!(ContentType::from("application/vnd.oci.image.manifest.v1+json"), ContentType::OciImageManifestV1);
    /// assert_eq!(ContentType::ALL[0].as_str(), "application/vnd.docker.distribution.manifest.v2+json");
    /// assert_eq!(ContentType::ALL.len(), 2);
    /// ```
    ContentType {
        /// `application/vnd.docker.distribution.manifest.v2+json`
        DockerManifestV2 = "application/vnd.docker.distribution.manifest.v2+json",
        /// `application/vnd.oci.image.manifest.v1+json`
        OciImageManifestV1 = "application/vnd.oci.image.manifest.v1+json",
    }
}

registry_core::open_enum! {
    /// The `grant_type` of `POST /oauth2/exchange` (AAD tokens for an ACR
    /// refresh token), an open enum: the Go SDK's
    /// `PostContentSchemaGrantType`. It says which AAD tokens are sent:
    /// `access_token` needs the AAD access token, `refresh_token` the AAD
    /// refresh token, `access_token_refresh_token` both.
    ///
    /// ```
    /// use acr_auth::ExchangeGrantType;
    /// assert_eq!(ExchangeGrantType::AccessTokenRefreshToken.as_str(), "access_token_refresh_token");
    /// assert_eq!(ExchangeGrantType::from("refresh_token"), ExchangeGrantType::RefreshToken);
    /// let wire: Vec<&str> = ExchangeGrantType::ALL.iter().map(|g| g.as_str()).collect();
    /// assert_eq!(wire, ["access_token", "access_token_refresh_token", "refresh_token"]);
    /// ```
    ExchangeGrantType {
        /// `access_token`: an AAD access token.
        AccessToken = "access_token",
        /// `access_token_refresh_token`: an AAD access token and refresh
        /// token (deprecated by ACR).
        AccessTokenRefreshToken = "access_token_refresh_token",
        /// `refresh_token`: an AAD refresh token (deprecated by ACR).
        RefreshToken = "refresh_token",
    }
}

impl ExchangeGrantType {
    /// Whether this grant needs the AAD access token (`access_token`).
    ///
    /// ```
    /// use acr_auth::ExchangeGrantType as G;
    /// assert!(G::AccessToken.needs_access_token() && !G::AccessToken.needs_refresh_token());
    /// assert!(G::AccessTokenRefreshToken.needs_access_token() && G::AccessTokenRefreshToken.needs_refresh_token());
    /// assert!(!G::RefreshToken.needs_access_token() && G::RefreshToken.needs_refresh_token());
    /// ```
    pub fn needs_access_token(&self) -> bool {
        matches!(
            self,
            ExchangeGrantType::AccessToken | ExchangeGrantType::AccessTokenRefreshToken
        )
    }

    /// Whether this grant needs the AAD refresh token (`refresh_token`);
    /// see [`needs_access_token`](Self::needs_access_token).
    pub fn needs_refresh_token(&self) -> bool {
        matches!(
            self,
            ExchangeGrantType::RefreshToken | ExchangeGrantType::AccessTokenRefreshToken
        )
    }
}

registry_core::open_enum! {
    /// The `grant_type` of `POST /oauth2/token` (an ACR refresh token for
    /// an access token), an open enum: the Go SDK's `TokenGrantType`.
    /// `password` with an empty refresh token is anonymous access.
    ///
    /// ```
    /// use acr_auth::TokenGrantType;
    /// assert_eq!(TokenGrantType::RefreshToken.to_string(), "refresh_token");
    /// assert_eq!(TokenGrantType::from("password"), TokenGrantType::Password);
    /// assert_eq!(TokenGrantType::ALL, &[TokenGrantType::Password, TokenGrantType::RefreshToken]);
    /// ```
    TokenGrantType {
        /// `password`
        Password = "password",
        /// `refresh_token`
        RefreshToken = "refresh_token",
    }
}
