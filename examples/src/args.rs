//! The few command-line flags the example programs take: `--name value` pairs
//! and positional arguments.

use std::str::FromStr;

/// Parsed `--flag value` options and positional arguments.
///
/// ```
/// let args = eventlet_examples::args::Args::parse(["--port", "0", "http://a/"].map(String::from));
/// assert_eq!(args.value("port", 6000u16), 0);
/// assert_eq!(args.value("host", "0.0.0.0".to_string()), "0.0.0.0");
/// assert_eq!(args.positional(), ["http://a/"]);
/// ```
#[derive(Debug, Default)]
pub struct Args {
    options: Vec<(String, String)>,
    positional: Vec<String>,
}

impl Args {
    /// Parses `args` (without the program name).
    ///
    /// # Panics
    /// With a usage message when a `--flag` has no value.
    pub fn parse(args: impl IntoIterator<Item = String>) -> Args {
        let mut parsed = Args::default();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            match arg.strip_prefix("--") {
                Some(name) => {
                    let value = args
                        .next()
                        .unwrap_or_else(|| panic!("usage: --{name} needs a value"));
                    parsed.options.push((name.to_owned(), value));
                }
                None => parsed.positional.push(arg),
            }
        }
        parsed
    }

    /// The process's own arguments.
    pub fn from_env() -> Args {
        Args::parse(std::env::args().skip(1))
    }

    /// The value of `--name`, or `default` when absent.
    ///
    /// # Panics
    /// With a usage message when the value does not parse.
    pub fn value<T: FromStr>(&self, name: &str, default: T) -> T {
        match self.options.iter().rev().find(|(n, _)| n == name) {
            Some((_, value)) => value
                .parse()
                .unwrap_or_else(|_| panic!("usage: --{name} {value}: not a valid value")),
            None => default,
        }
    }

    /// The arguments that are not `--flag value` pairs.
    pub fn positional(&self) -> &[String] {
        &self.positional
    }
}
