//! Boilerplate of the vendor API crates (`acr-auth`, `mgc-api`), written
//! once: builder setters ([`setters!`](crate::setters)) and open string
//! enums ([`open_enum!`](crate::open_enum)). The macros are exported at the
//! crate root.

/// Serde, for the expansion of [`open_enum!`](crate::open_enum) (callers
/// need no serde of their own).
#[doc(hidden)]
pub use serde as __serde;

/// Builder setters: for each `field: Arg`, a `pub fn field(self, value:
/// Arg) -> Self` setting the `Option` field `field` to
/// `Some(value.into())`, documented as "Sets `field`." followed by the doc
/// lines given.
///
/// ```
/// #[derive(Default)]
/// pub struct ListOptions {
///     page_size: Option<u32>,
///     prefix: Option<String>,
/// }
///
/// registry_core::setters!(ListOptions {
///     page_size: u32,
///     /// Only names starting with it.
///     prefix: impl Into<String>,
/// });
///
/// let options = ListOptions::default().page_size(50).prefix("app/");
/// assert_eq!(options.page_size, Some(50));
/// assert_eq!(options.prefix.as_deref(), Some("app/"));
/// ```
#[macro_export]
macro_rules! setters {
    ($ty:ty { $($(#[$doc:meta])* $field:ident: $arg:ty),+ $(,)? }) => {
        impl $ty {
            $(
                #[doc = ::core::concat!("Sets `", ::core::stringify!($field), "`.")]
                $(#[$doc])*
                pub fn $field(mut self, value: $arg) -> Self {
                    self.$field = ::core::option::Option::Some(value.into());
                    self
                }
            )+
        }
    };
}

/// An open string enum: the known values as variants (each with its wire
/// string and, after `|`, other spellings read as it), and `Other(String)`
/// keeping any other value as sent (a newer API may add values).
///
/// It has `ALL` (the known variants, in order), `KNOWN` (their wire
/// strings), `as_str`, `is_known`, `Display` (the wire string), a lenient
/// `From<&str>` and serde (as a JSON string, unknown values kept).
///
/// With `Name: FromStr<Err = E>` (`E` being [`Error`](crate::Error) or an
/// error type with the same `new(ErrorKind, message)`), it also has a
/// strict `FromStr` for inputs, and `check_known(what)` refusing an `Other`
/// before it is sent; both fail with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput).
///
/// ```
/// registry_core::open_enum! {
///     /// A fruit.
///     Fruit: FromStr<Err = registry_core::Error> {
///         /// An apple.
///         Apple = "apple",
///         /// A pear (also spelled `pera`).
///         Pear = "pear" | "pera",
///     }
/// }
///
/// assert_eq!(Fruit::from("pera"), Fruit::Pear);
/// assert_eq!(Fruit::Pear.to_string(), "pear");
/// assert_eq!(Fruit::ALL, &[Fruit::Apple, Fruit::Pear]);
/// assert_eq!(Fruit::KNOWN, &["apple", "pear"]);
///
/// let fig: Fruit = serde_json::from_str(r#""fig""#).unwrap();
/// assert_eq!(fig, Fruit::Other("fig".into()));
/// assert!(!fig.is_known());
/// assert_eq!(serde_json::to_string(&fig).unwrap(), r#""fig""#);
///
/// assert_eq!("apple".parse::<Fruit>().unwrap(), Fruit::Apple);
/// let err = "fig".parse::<Fruit>().unwrap_err();
/// assert_eq!(err.kind(), registry_core::ErrorKind::InvalidInput);
/// assert_eq!(err.message(), r#""fig" is not a valid Fruit; expected one of: apple, pear"#);
/// let err = fig.check_known("fruit").unwrap_err();
/// assert_eq!(err.message(), r#"fruit "fig" is not one of: apple, pear"#);
/// ```
#[macro_export]
macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident $(: FromStr<Err = $err:ty>)? {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal $(| $alias:literal)* ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value not listed here (a newer API's, say), kept as sent.
            Other(::std::string::String),
        }

        impl $name {
            /// Every known value, in the order listed.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire values of [`ALL`](Self::ALL).
            pub const KNOWN: &'static [&'static str] = &[$($wire),+];

            /// The wire value.
            pub fn as_str(&self) -> &str {
                match self {
                    $( $name::$variant => $wire, )+
                    $name::Other(s) => s,
                }
            }

            /// Whether this is a known value (not `Other`).
            pub fn is_known(&self) -> bool {
                !::core::matches!(self, $name::Other(_))
            }
        }

        impl ::core::convert::From<&str> for $name {
            fn from(s: &str) -> $name {
                match s {
                    $( $wire $(| $alias)* => $name::$variant, )+
                    other => $name::Other(other.into()),
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::macros::__serde::Serialize for $name {
            fn serialize<S: $crate::macros::__serde::Serializer>(
                &self,
                s: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::macros::__serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::macros::__serde::Deserializer<'de>>(
                d: D,
            ) -> ::core::result::Result<$name, D::Error> {
                let s: ::std::string::String = $crate::macros::__serde::Deserialize::deserialize(d)?;
                ::core::result::Result::Ok($name::from(s.as_str()))
            }
        }

        $(
            impl $name {
                /// Refuses (before sending) a value not in
                /// [`KNOWN`](Self::KNOWN), named `what` in the message.
                pub fn check_known(&self, what: &str) -> ::core::result::Result<(), $err> {
                    if self.is_known() {
                        return ::core::result::Result::Ok(());
                    }
                    let known = $name::KNOWN.join(", ");
                    let msg = ::std::format!("{what} {:?} is not one of: {known}", self.as_str());
                    ::core::result::Result::Err(<$err>::new($crate::ErrorKind::InvalidInput, msg))
                }
            }

            impl ::core::str::FromStr for $name {
                type Err = $err;

                /// Parses a known value (others are refused).
                fn from_str(s: &str) -> ::core::result::Result<$name, $err> {
                    match $name::from(s) {
                        $name::Other(_) => ::core::result::Result::Err(<$err>::new(
                            $crate::ErrorKind::InvalidInput,
                            ::std::format!(
                                "{:?} is not a valid {}; expected one of: {}",
                                s,
                                ::core::stringify!($name),
                                $name::KNOWN.join(", ")
                            ),
                        )),
                        known => ::core::result::Result::Ok(known),
                    }
                }
            }
        )?
    };
}
