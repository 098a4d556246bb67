//! What the expansions of `eventlet-macros` name as `::eventlet_rt::__private::...`: not an
//! API, no stability promised.
//!
//! `#[green]` cannot see a `use std::net::TcpStream;` written outside the function it is
//! on, so a bare `TcpStream` inside stays std's and blocks the whole OS thread. For each
//! bare name that could be such a std item, the macro emits a check that compares what the
//! name resolves to with the std item, at compile time:
//!
//! - an item (a type, a non-generic function) goes into a [`Pair`] with the std item; a
//!   method call on it finds [`SameItem::item`] only when both are one item (autoref
//!   specialization: `SameItem` is implemented for `Pair<T, T>`, [`OtherItem`] one reference
//!   further for every `&Pair<A, B>`), giving [`StdItem`], else [`NotStd`];
//! - a call of a generic std function (`spawn(..)`, `channel()`) is checked on the type of
//!   the value it returns, [`Returned`], whose inherent `item` exists only for the types std's
//!   functions return (an inherent method wins over the trait method of [`ReturnedOther`]).
//!
//! The marker then goes to the trait of [`outer_use`] named after the std item, which only
//! [`NotStd`] implements: for [`StdItem`], the compiler reports that trait's
//! `#[diagnostic::on_unimplemented]` message, which names the std item, the outer `use`
//! and the fix. A name that resolves to the green item, or to anything else that is not
//! std's blocking item (a type of your own called `TcpStream`), passes.

use std::marker::PhantomData;

/// The check found std's blocking item.
#[derive(Debug)]
pub struct StdItem;

/// The check found something other than std's blocking item.
#[derive(Debug)]
pub struct NotStd;

/// Two items, `A` as the user's name resolves and `B` std's; compared by [`SameItem`].
#[derive(Debug)]
pub struct Pair<A: ?Sized, B: ?Sized>(PhantomData<fn(&A, &B)>);

impl<A: ?Sized, B: ?Sized> Pair<A, B> {
    /// A pair of types.
    pub const fn new() -> Pair<A, B> {
        Pair(PhantomData)
    }
}

impl<A: ?Sized, B: ?Sized> Default for Pair<A, B> {
    fn default() -> Pair<A, B> {
        Pair::new()
    }
}

/// A pair of values whose types are compared: functions, whose item types are one type
/// exactly when they are one function.
pub fn pair<A, B>(_: A, _: B) -> Pair<A, B> {
    Pair::new()
}

/// Found first by `(&pair).item()`, and only when both halves are one item.
pub trait SameItem {
    /// The pair is std's item twice.
    fn item(&self) -> StdItem {
        StdItem
    }
}

impl<T: ?Sized> SameItem for Pair<T, T> {}

/// Found by `(&pair).item()` when [`SameItem`] does not apply.
pub trait OtherItem {
    /// The user's name is something else.
    fn item(&self) -> NotStd {
        NotStd
    }
}

impl<A: ?Sized, B: ?Sized> OtherItem for &Pair<A, B> {}

/// The value a call returned, checked on its type and then handed back.
#[derive(Debug)]
pub struct Returned<T>(pub T);

/// `Returned::item` for every type that no generic std function returns.
pub trait ReturnedOther {
    /// The value handed back.
    type Value;
    /// The value, and the finding that it did not come from std's function.
    fn item(self) -> (Self::Value, NotStd);
}

impl<T> ReturnedOther for Returned<T> {
    type Value = T;
    fn item(self) -> (T, NotStd) {
        (self.0, NotStd)
    }
}

impl<T> Returned<std::thread::JoinHandle<T>> {
    /// What `std::thread::spawn` returns.
    pub fn item(self) -> (std::thread::JoinHandle<T>, StdItem) {
        (self.0, StdItem)
    }
}

impl<T> Returned<(std::sync::mpsc::Sender<T>, std::sync::mpsc::Receiver<T>)> {
    /// What `std::sync::mpsc::channel` returns.
    pub fn item(
        self,
    ) -> (
        (std::sync::mpsc::Sender<T>, std::sync::mpsc::Receiver<T>),
        StdItem,
    ) {
        (self.0, StdItem)
    }
}

impl<T> Returned<(std::sync::mpsc::SyncSender<T>, std::sync::mpsc::Receiver<T>)> {
    /// What `std::sync::mpsc::sync_channel` returns.
    pub fn item(
        self,
    ) -> (
        (std::sync::mpsc::SyncSender<T>, std::sync::mpsc::Receiver<T>),
        StdItem,
    ) {
        (self.0, StdItem)
    }
}

/// One trait per std item, implemented by [`NotStd`] only, whose message explains it.
macro_rules! blocking_std_item {
    ($(#[$attr:meta])* $name:ident, $message:literal, $fix:literal) => {
        $(#[$attr])*
        #[diagnostic::on_unimplemented(
            message = $message,
            label = "reached through a `use` outside the `#[green]` function",
            note = "`#[green]` rewrites only the paths written inside the function it is on: \
                    a `use` outside it is invisible to the macro, so the name keeps std's \
                    blocking meaning",
            note = $fix
        )]
        pub trait $name {
            /// Accepts a check that found no std item.
            fn green(self);
        }

        #[diagnostic::do_not_recommend]
        impl $name for $crate::__private::NotStd {
            fn green(self) {}
        }
    };
}

/// The std items `#[green]` checks, at their std paths.
pub mod outer_use {
    /// `std::net`.
    pub mod net {
        blocking_std_item!(
            /// `std::net::TcpStream`.
            TcpStream,
            "`std::net::TcpStream` blocks the whole OS thread, and this `#[green]` function \
             reaches it through a `use` outside the function",
            "fix: move the `use std::net::...` into the function, or write \
             `std::net::TcpStream` in full, or import `eventlet_rt::green::net::TcpStream` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::net::TcpListener`.
            TcpListener,
            "`std::net::TcpListener` blocks the whole OS thread, and this `#[green]` function \
             reaches it through a `use` outside the function",
            "fix: move the `use std::net::...` into the function, or write \
             `std::net::TcpListener` in full, or import `eventlet_rt::green::net::TcpListener` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::net::UdpSocket`.
            UdpSocket,
            "`std::net::UdpSocket` blocks the whole OS thread, and this `#[green]` function \
             reaches it through a `use` outside the function",
            "fix: move the `use std::net::...` into the function, or write \
             `std::net::UdpSocket` in full, or import `eventlet_rt::green::net::UdpSocket` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
    }

    /// `std::thread`.
    #[allow(non_camel_case_types)]
    pub mod thread {
        blocking_std_item!(
            /// `std::thread::sleep`.
            sleep,
            "`std::thread::sleep` blocks the whole OS thread, and this `#[green]` function \
             reaches it through a `use` outside the function",
            "fix: move the `use std::thread...` into the function, or write \
             `std::thread::sleep` in full, or import `eventlet_rt::green::thread::sleep` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::thread::spawn`.
            spawn,
            "`std::thread::spawn` starts an OS thread, not a green thread, and this `#[green]` \
             function reaches it through a `use` outside the function",
            "fix: move the `use std::thread...` into the function, or write \
             `std::thread::spawn` in full, or import `eventlet_rt::green::thread::spawn` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::thread::Builder`.
            Builder,
            "`std::thread::Builder` starts OS threads, not green threads, and this `#[green]` \
             function reaches it through a `use` outside the function",
            "fix: move the `use std::thread...` into the function, or write \
             `std::thread::Builder` in full, or import `eventlet_rt::green::thread::Builder` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::thread::JoinHandle`.
            JoinHandle,
            "`std::thread::JoinHandle` joins by blocking the whole OS thread, and this \
             `#[green]` function reaches it through a `use` outside the function",
            "fix: move the `use std::thread...` into the function, or write \
             `std::thread::JoinHandle` in full, or import \
             `eventlet_rt::green::thread::JoinHandle` instead; `#[green(no_patch)]` keeps \
             std's on purpose"
        );
        blocking_std_item!(
            /// `std::thread::park`.
            park,
            "`std::thread::park` blocks the whole OS thread, and this `#[green]` function \
             reaches it through a `use` outside the function",
            "fix: green threads have no `park`: wait on an `eventlet_rt::Event` or a \
             `GreenThread` instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::thread::park_timeout`.
            park_timeout,
            "`std::thread::park_timeout` blocks the whole OS thread, and this `#[green]` \
             function reaches it through a `use` outside the function",
            "fix: green threads have no `park_timeout`: use `eventlet_rt::Event::wait_timeout` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
    }

    /// `std::sync`.
    pub mod sync {
        blocking_std_item!(
            /// `std::sync::Mutex`.
            Mutex,
            "`std::sync::Mutex` blocks the whole OS thread when a second green thread locks it (a deadlock if the holder is parked), and this `#[green]` function reaches it through a `use` outside the \
             function",
            "fix: move the `use std::sync::...` into the function, or write \
             `std::sync::Mutex` in full, or import `eventlet_rt::green::sync::Mutex` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::sync::RwLock`.
            RwLock,
            "`std::sync::RwLock` blocks the whole OS thread when a green thread waits for it (a deadlock if the holder is parked), and this `#[green]` function reaches it through a `use` outside the \
             function",
            "fix: move the `use std::sync::...` into the function, or write \
             `std::sync::RwLock` in full, or import `eventlet_rt::green::sync::RwLock` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::sync::Condvar`.
            Condvar,
            "`std::sync::Condvar` blocks the whole OS thread in `wait`, and this `#[green]` function reaches it through a `use` outside the \
             function",
            "fix: move the `use std::sync::...` into the function, or write \
             `std::sync::Condvar` in full, or import `eventlet_rt::green::sync::Condvar` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        blocking_std_item!(
            /// `std::sync::Barrier`.
            Barrier,
            "`std::sync::Barrier` blocks the whole OS thread in `wait`, so the other green threads never arrive, and this `#[green]` function reaches it through a `use` outside the \
             function",
            "fix: move the `use std::sync::...` into the function, or write \
             `std::sync::Barrier` in full, or import `eventlet_rt::green::sync::Barrier` \
             instead; `#[green(no_patch)]` keeps std's on purpose"
        );
        /// `std::sync::mpsc`.
        #[allow(non_camel_case_types)]
        pub mod mpsc {
            blocking_std_item!(
                /// `std::sync::mpsc::channel`.
                channel,
                "`std::sync::mpsc::channel` gives channels whose `recv` blocks the whole OS \
                 thread, and this `#[green]` function reaches it through a `use` outside the \
                 function",
                "fix: move the `use std::sync::mpsc...` into the function, or write \
                 `std::sync::mpsc::channel` in full, or import \
                 `eventlet_rt::green::mpsc::channel` instead; `#[green(no_patch)]` keeps \
                 std's on purpose"
            );
            blocking_std_item!(
                /// `std::sync::mpsc::sync_channel`.
                sync_channel,
                "`std::sync::mpsc::sync_channel` gives channels that block the whole OS \
                 thread, and this `#[green]` function reaches it through a `use` outside the \
                 function",
                "fix: move the `use std::sync::mpsc...` into the function, or write \
                 `std::sync::mpsc::sync_channel` in full, or import \
                 `eventlet_rt::green::mpsc::sync_channel` instead; `#[green(no_patch)]` keeps \
                 std's on purpose"
            );
            blocking_std_item!(
                /// `std::sync::mpsc::Sender`.
                Sender,
                "`std::sync::mpsc::Sender` belongs to a channel that blocks the whole OS \
                 thread, and this `#[green]` function reaches it through a `use` outside the \
                 function",
                "fix: move the `use std::sync::mpsc...` into the function, or write \
                 `std::sync::mpsc::Sender` in full, or import `eventlet_rt::green::mpsc::Sender` \
                 instead; `#[green(no_patch)]` keeps std's on purpose"
            );
            blocking_std_item!(
                /// `std::sync::mpsc::SyncSender`.
                SyncSender,
                "`std::sync::mpsc::SyncSender` blocks the whole OS thread when its channel is \
                 full, and this `#[green]` function reaches it through a `use` outside the \
                 function",
                "fix: move the `use std::sync::mpsc...` into the function, or write \
                 `std::sync::mpsc::SyncSender` in full, or import \
                 `eventlet_rt::green::mpsc::SyncSender` instead; `#[green(no_patch)]` keeps \
                 std's on purpose"
            );
            blocking_std_item!(
                /// `std::sync::mpsc::Receiver`.
                Receiver,
                "`std::sync::mpsc::Receiver` blocks the whole OS thread in `recv`, and this \
                 `#[green]` function reaches it through a `use` outside the function",
                "fix: move the `use std::sync::mpsc...` into the function, or write \
                 `std::sync::mpsc::Receiver` in full, or import \
                 `eventlet_rt::green::mpsc::Receiver` instead; `#[green(no_patch)]` keeps \
                 std's on purpose"
            );
        }
    }
}
