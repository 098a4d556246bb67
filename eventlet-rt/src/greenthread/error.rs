//! How a green thread ended when it did not return a value.

use std::any::Any;
use std::fmt;

pub use crate::stack_pool::StackRefused;

/// How a green thread ended when it did not return a value.
///
/// More reasons may be added: match with a `_` arm.
///
/// ```
/// use eventlet_rt::GreenError;
///
/// let panicked = eventlet_rt::spawn(|| -> u32 { panic!("boom") });
/// match panicked.wait() {
///     Err(GreenError::Panicked(payload)) => assert_eq!(payload.downcast_ref(), Some(&"boom")),
///     Err(other) => panic!("ended otherwise: {other}"),
///     Ok(_) => unreachable!(),
/// }
/// ```
#[non_exhaustive]
pub enum GreenError {
    /// It was killed (`kill`, `cancel`) before it could return.
    Killed,
    /// It panicked; the payload is the value given to `panic!`.
    Panicked(Box<dyn Any + Send + 'static>),
    /// It never ran: the kernel refused it a stack (see [`StackRefused`]).
    StackRefused(StackRefused),
}

impl GreenError {
    /// The panic message, when the payload is a string (what `panic!` makes).
    ///
    /// ```
    /// let gt = eventlet_rt::spawn(|| -> u32 { panic!("boom {}", 7) });
    /// let error = gt.wait().unwrap_err();
    /// assert_eq!(error.panic_message(), Some("boom 7"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            GreenError::Panicked(payload) => payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&'static str>().copied()),
            GreenError::Killed | GreenError::StackRefused(_) => None,
        }
    }

    /// True for [`GreenError::Killed`].
    ///
    /// ```
    /// let gt = eventlet_rt::spawn(|| ());
    /// gt.kill();
    /// assert!(gt.wait().unwrap_err().is_killed());
    /// ```
    pub fn is_killed(&self) -> bool {
        matches!(self, GreenError::Killed)
    }
}

impl fmt::Debug for GreenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GreenError::Killed => f.write_str("Killed"),
            GreenError::Panicked(_) => match self.panic_message() {
                Some(message) => f.debug_tuple("Panicked").field(&message).finish(),
                None => f.write_str("Panicked(..)"),
            },
            GreenError::StackRefused(refused) => {
                f.debug_tuple("StackRefused").field(refused).finish()
            }
        }
    }
}

impl fmt::Display for GreenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GreenError::Killed => f.write_str("the green thread was killed"),
            GreenError::Panicked(_) => match self.panic_message() {
                Some(message) => write!(f, "the green thread panicked: {message}"),
                None => f.write_str("the green thread panicked"),
            },
            GreenError::StackRefused(refused) => fmt::Display::fmt(refused, f),
        }
    }
}

impl std::error::Error for GreenError {}
