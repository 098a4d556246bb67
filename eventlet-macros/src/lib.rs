//! The procedural macros of [`eventlet-rt`]: `#[green]`, `spawn!`, `spawn_n!` and
//! `pool_imap!`.
//!
//! Use them through `eventlet_rt`, which re-exports them (`use eventlet_rt::{green, spawn};`);
//! their expansions name `::eventlet_rt::...` items, so that crate must be a dependency under
//! its own name (not renamed in `Cargo.toml`).
//! The examples run as doc tests of this crate, which has `eventlet-rt` as a dev-dependency
//! (as tokio-macros has tokio); compile errors are snapshotted in `ui-tests`.
//!
//! Each macro is parsed, checked and expanded in its own module (`green`, `spawn`, `imap`,
//! with the rewrite pass in `rewrite` and the outer-`use` checks in `outer_use`); each
//! module's unit tests are in `<module>/tests.rs`.
//!
//! [`eventlet-rt`]: https://docs.rs/eventlet-rt

mod awaits;
mod green;
mod imap;
mod outer_use;
mod rewrite;
mod spawn;

use proc_macro::TokenStream;

/// Makes a blocking-style function, or every item of an inline module, green: Eventlet's
/// monkey patching, done by the compiler and scoped to what you mark.
///
/// Every path into `std::net`, `std::thread` or `std::sync` inside the item (in
/// expressions, types, patterns, `use` items and the arguments of macros such as
/// `println!`, with or without a leading `::`) is rewritten to the mirror module in
/// `::eventlet_rt::green`. A `std::thread::sleep` then blocks only the calling green
/// thread, and a `std::net::TcpStream` read lets the others run while it waits. Nothing
/// else changes, and spans are kept, so compiler errors still point at your code.
///
/// ```
/// use std::time::{Duration, Instant};
/// use eventlet_rt::{green, spawn};
///
/// #[green]
/// fn nap() {
///     std::thread::sleep(Duration::from_millis(50)); // green: the others run meanwhile
/// }
///
/// let start = Instant::now();
/// let nappers: Vec<_> = (0..40).map(|_| spawn(nap)).collect();
/// nappers.into_iter().for_each(|n| n.wait().unwrap());
/// assert!(start.elapsed() < Duration::from_secs(1)); // not 40 × 50 ms
/// ```
///
/// # Where it goes
/// - A `fn`: free function, method, `main`, a `#[test]`, generic or not. The signature is
///   rewritten too: `fn handle(stream: std::net::TcpStream)` takes a green stream.
/// - An inline `mod m { ... }`: every item inside, `use` trees included, like Eventlet's
///   `import_patched`. `use std::{net, thread};` becomes
///   `use ::eventlet_rt::green::{net, thread};`, so a later `thread::sleep(..)` is green;
///   `use std::sync::{mpsc, Arc, Mutex};` takes green `mpsc` and `Mutex` and std's `Arc`
///   (`eventlet_rt::green::sync` re-exports std's plain items).
///
/// `#[green(no_patch)]` leaves the item as written; inside a `#[green] mod` it keeps one
/// function on std.
///
/// `#[green(monkey_patch)]` on a function (usually `fn main`) makes its first statement
/// `eventlet_rt::monkey_patch()` (on Linux), so that third-party code the macro never sees
/// turns green at run time too:
///
/// ```
/// fn third_party_nap() {
///     std::thread::sleep(std::time::Duration::from_millis(10)); // not rewritten: not ours
/// }
///
/// #[eventlet_rt::green(monkey_patch)]
/// fn main() {
///     let naps: Vec<_> = (0..3).map(|_| eventlet_rt::spawn(third_party_nap)).collect();
///     naps.into_iter().for_each(|nap| nap.wait().unwrap()); // the naps overlap
/// }
/// # main();
/// ```
///
/// # `.await` in a green function
/// Inside the function it marks, `#[green]` rewrites every `expr.await` into
/// `::eventlet_rt::block_on(expr)`: the future is polled on the calling green thread, which
/// alone waits while it is pending. Nested awaits and `?` after `.await` work as in async
/// code; awaits in closures and in functions nested in the marked one are rewritten too (they
/// run on whichever green thread calls them); awaits in `async` blocks, `async` closures and
/// `async fn`s are left as they are. With the runtime's `tokio` feature, tokio-bound clients
/// (`reqwest`, `tokio-postgres`, `sqlx`) work this way from plain blocking-style code:
/// `let body = reqwest::get(url).await?.text().await?;`.
///
/// ```
/// use std::future::ready;
///
/// async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
///     text.parse()
/// }
///
/// #[eventlet_rt::green]
/// fn total(texts: &[&str]) -> Result<u32, std::num::ParseIntError> {
///     let mut sum = ready(0).await;
///     for text in texts {
///         sum += parse(text).await?; // waits here, parking only this green thread
///     }
///     Ok(sum)
/// }
///
/// assert_eq!(total(&["1", "2", "39"]), Ok(42));
/// assert!(total(&["x"]).is_err());
/// ```
///
/// # What it cannot see, and checks instead
/// A macro only sees the tokens of the item it is on. A `use std::thread;` written *outside*
/// a `#[green] fn` would make `thread::sleep` inside it std's, blocking the whole OS thread.
/// So every bare name inside the function that may reach a blocking std item that way
/// (`TcpStream`, `TcpListener`, `UdpSocket`, `sleep`, `spawn(..)`, `park`, `JoinHandle`,
/// `thread::Builder`, `Mutex`, `RwLock`, `Condvar`, `Barrier`, the `mpsc` channels and
/// their ends, through a module like `thread::`
/// or `net::` or directly) gets a compile-time check, which is an error naming the outer
/// `use` and the fix when the name does resolve to std's item. A name that resolves to the
/// green item (`use eventlet_rt::green::net::TcpStream;` outside), or to an item of your own
/// that shares the name, passes. Not checked: names the function declares, imports or binds
/// itself (the rewrite sees those), and a generic std function named without being called
/// (`.map(spawn)`). A type of your own called like a generic std type (`Mutex`, `Sender`,
/// `JoinHandle`) must take one type parameter, as theirs do, or be named by a path.
///
/// Put the `use` inside the function, or mark the whole module:
///
/// ```
/// #[eventlet_rt::green]
/// mod worker {
///     use std::{net, thread};
///
///     pub fn ping(addr: &str) -> std::io::Result<()> {
///         let _stream = net::TcpStream::connect(addr)?; // green
///         thread::sleep(std::time::Duration::from_millis(10)); // green
///         Ok(())
///     }
/// }
/// ```
///
/// Macro arguments are rewritten when they parse as Rust expressions; other macro input
/// (a `macro_rules!` body, a DSL) is left alone. Code that reaches std through another name
/// (a re-export, `extern crate std as s`) is not rewritten either.
///
/// # Errors
/// `#[green]` on an `async fn` or a `const fn`, on a struct, enum, impl block or `extern`
/// block, on a `mod m;` whose items live in another file, with an argument other than
/// `no_patch` and `monkey_patch`, or with `monkey_patch` on a module, is a compile error
/// that says what to write instead.
#[proc_macro_attribute]
pub fn green(args: TokenStream, item: TokenStream) -> TokenStream {
    green::green(args.into(), item.into()).into()
}

/// Runs a call in a new green thread and returns its [`GreenThread`], like Eventlet's
/// `spawn(func, *args)`.
///
/// The callee, the receiver and the arguments are evaluated *now*, at the call site, in
/// the order written; only then does the call itself move to the new green thread. So a
/// variable changed after `spawn!` does not change what the green thread sees.
///
/// ```
/// use eventlet_rt::spawn;
///
/// fn add(a: i32, b: i32) -> i32 { a + b }
///
/// let mut x = 1;
/// let sum = spawn!(add(x, 2)); // `x` is read here, before the green thread starts
/// x = 100;
/// assert_eq!(sum.wait().unwrap(), 3);
///
/// let words = vec!["a", "b"];
/// let count = spawn!(words.len()); // the receiver `words` moves into the green thread
/// let greeting = spawn!(move || format!("hello {x}")); // a closure runs as it is
/// assert_eq!((count.wait().unwrap(), greeting.wait().unwrap().as_str()), (2, "hello 100"));
/// ```
///
/// # Forms
/// - `spawn!(f(a, b))`, `spawn!(path::to::f(a))`, `spawn!(make_handler()(a))`
/// - `spawn!(recv.method(a))`, `spawn!(recv.method::<T>(a))`
/// - `spawn!(move || ...)`: the closure is spawned as it is.
/// - `spawn!(pool, f(a))`: runs in `pool` (a `GreenPool` or anything with a `spawn` method
///   taking a closure); waits for a free slot when the pool is full.
///
/// Arguments that are closure literals are moved into the green thread as they are, so
/// their parameter types are still inferred from the callee. The evaluated values move into
/// the green thread, so they must be `'static` (not `Send`): a reference to a local is an
/// error. Clone what you need to keep.
///
/// # Errors
/// `spawn!()`, `spawn!(42)` (not a call), `spawn!(f)` (not called), `spawn!(pool,)` (no
/// call after the pool) and `spawn!(|x| ...)` (a closure with parameters) are compile errors
/// that say what to write instead.
///
/// [`GreenThread`]: https://docs.rs/eventlet-rt/latest/eventlet_rt/struct.GreenThread.html
#[proc_macro]
pub fn spawn(input: TokenStream) -> TokenStream {
    spawn::spawn(input.into(), spawn::Flavor::Spawn).into()
}

/// Like [`spawn!`], but returns nothing, like Eventlet's `spawn_n`: cheaper when the result
/// is not needed. As with `eventlet_rt::spawn_n`, the call must return `()` (use `spawn!`
/// to keep a result), and a panic in it is printed by the panic hook and goes no further.
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use eventlet_rt::{sleep, spawn_n};
///
/// fn record(log: Rc<RefCell<Vec<u32>>>, n: u32) { log.borrow_mut().push(n) }
///
/// let log = Rc::new(RefCell::new(Vec::new()));
/// for n in 0..3 {
///     spawn_n!(record(log.clone(), n));
/// }
/// sleep(std::time::Duration::ZERO); // let them run
/// assert_eq!(*log.borrow(), [0, 1, 2]);
/// ```
///
/// The forms and errors are those of [`spawn!`]; `spawn_n!(pool, f(a))` calls the pool's
/// `spawn_n`.
#[proc_macro]
pub fn spawn_n(input: TokenStream) -> TokenStream {
    spawn::spawn(input.into(), spawn::Flavor::SpawnN).into()
}

/// Maps a function over an iterator with a pool of green threads, like Eventlet's
/// `GreenPool.imap` and `starmap`: expands to `GreenPool::imap`, so at most the pool's size
/// of calls are in flight and the results come back in input order.
///
/// ```
/// use eventlet_rt::{GreenPool, pool_imap};
///
/// fn fetch(host: &'static str, port: u16) -> String { format!("{host}:{port}") }
///
/// let pool = GreenPool::new(10);
/// let squares: Vec<u64> = pool_imap!(pool, |n: u64| n * n, 1..=3).collect();
/// assert_eq!(squares, [1, 4, 9]);
///
/// // A comprehension; tuple patterns destructure each item, like `starmap`.
/// let pairs = vec![("a", 1), ("b", 2)];
/// let urls: Vec<String> = pool_imap!(pool, fetch(h, p) for (h, p) in pairs).collect();
/// assert_eq!(urls, ["a:1", "b:2"]);
///
/// // Without a pool, a pool of 1000 green threads is made for the call.
/// let doubled: Vec<i32> = pool_imap!(x * 2 for x in [1, 2, 3]).collect();
/// assert_eq!(doubled, [2, 4, 6]);
/// ```
///
/// # Forms
/// - `pool_imap!(pool, f, iter)` and `pool_imap!(f, iter)`
/// - `pool_imap!(pool, body for pat in iter)` and `pool_imap!(body for pat in iter)`: the
///   body becomes `move |pat| body`, so it may use any local it can move.
///
/// The pattern must match every item (`x`, `(a, b)`, `&x`, `Point { x, y }`); drop the items
/// you do not want from the iterator first.
///
/// # Errors
/// A comprehension without `for` or `in`, with an empty body or iterator, with an `if`
/// filter, or with a pattern that can fail to match (`Some(x)`, `0`, `1..=9`, `A | B`) is a
/// compile error that says what to write instead.
#[proc_macro]
pub fn pool_imap(input: TokenStream) -> TokenStream {
    imap::pool_imap(input.into()).into()
}
