//! What the hub tells about its switches: to a switch observer (the blocking
//! detector plugs in here) and to `tracing`, whose span of the running green
//! thread is entered at each resume and exited at each switch back.
//!
//! Both cost one flag test per switch while neither is on.

use std::panic::Location;
use std::sync::Arc;

use super::Hub;
use crate::task::Header;

/// Hears of every switch into and out of a green thread of one hub.
pub(crate) trait SwitchObserver {
    /// The hub is about to resume the green thread so named, spawned there.
    fn entering(&self, name: Option<Arc<str>>, spawned_at: &'static Location<'static>);
    /// The running green thread gave the hub back.
    fn left(&self);
    /// The running green thread was renamed.
    fn renamed(&self, name: Option<Arc<str>>);
    /// The observer was replaced or removed, or the hub is ending.
    fn detached(&self);
}

impl Hub {
    /// A watched switch into a green thread.
    #[cold]
    pub(super) fn watched_entering(&self, header: &Header) {
        if let Some(observer) = &*self.observer.borrow() {
            observer.entering(header.name.borrow().clone(), header.spawned_at);
        }
        if let Some(span) = &header.span {
            *self.entered_span.borrow_mut() = span.with_subscriber(|(id, dispatch)| {
                dispatch.enter(id);
                (id.clone(), dispatch.clone())
            });
        }
    }

    /// A watched switch back to the hub: the green thread's span is exited.
    #[cold]
    pub(super) fn watched_left(&self) {
        if let Some(observer) = &*self.observer.borrow() {
            observer.left();
        }
        let entered = self.entered_span.borrow_mut().take();
        if let Some((id, dispatch)) = entered {
            dispatch.exit(&id);
        }
    }

    /// From now on every switch enters and exits the running green thread's span.
    pub(crate) fn trace_switches(&self) {
        self.traced.set(true);
        self.watched.set(true);
    }

    /// A task was renamed: if it is the one running, the observer hears of it.
    pub(crate) fn renamed(&self, header: &Header) {
        if self.watched.get()
            && std::ptr::eq(self.current_header(), header)
            && let Some(observer) = &*self.observer.borrow()
        {
            observer.renamed(header.name.borrow().clone());
        }
    }

    /// Sets (`Some`) or removes (`None`) the switch observer; the one it
    /// replaces is told it is detached.
    pub(crate) fn set_switch_observer(&self, observer: Option<Arc<dyn SwitchObserver>>) {
        let old = self.observer.replace(observer);
        if let Some(old) = old {
            old.detached();
        }
        self.watched
            .set(self.observer.borrow().is_some() || self.traced.get());
    }

    /// True while a switch observer is set.
    pub(crate) fn has_switch_observer(&self) -> bool {
        self.observer.borrow().is_some()
    }
}
