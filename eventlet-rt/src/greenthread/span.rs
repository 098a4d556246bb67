//! The `tracing` span a green thread runs in.

use std::panic::Location;
use std::sync::Arc;

use crate::hub;

/// The span a new green thread runs in, if a subscriber wants one. When none
/// does, this costs a load of tracing's global level filter.
#[inline]
pub(super) fn traced_span(
    span: Option<tracing::Span>,
    name: Option<&Arc<str>>,
    spawned_at: &'static Location<'static>,
) -> Option<Box<tracing::Span>> {
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    let default_wanted =
        STATIC_MAX_LEVEL >= LevelFilter::DEBUG && LevelFilter::current() >= LevelFilter::DEBUG;
    if span.is_none() && !default_wanted {
        return None;
    }
    enabled_span(span, name, spawned_at)
}

#[cold]
#[inline(never)]
fn enabled_span(
    span: Option<tracing::Span>,
    name: Option<&Arc<str>>,
    spawned_at: &'static Location<'static>,
) -> Option<Box<tracing::Span>> {
    let span = span.unwrap_or_else(|| {
        tracing::debug_span!(
            target: "eventlet_rt::greenthread",
            "green_thread",
            name = tracing::field::Empty,
            spawned_at = %spawned_at,
        )
    });
    if span.is_disabled() {
        return None;
    }
    if let Some(name) = name {
        span.record("name", &**name);
    }
    hub::current().trace_switches();
    Some(Box::new(span))
}
