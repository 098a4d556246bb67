//! Green threads waiting on tokio-bound futures through `block_on`, on the
//! hub's own tokio runtime: tokio's timers, tasks and sockets, tokio-postgres,
//! sqlx and reqwest against real servers. Each scenario runs twice, from
//! `tokio_async.rs` as it is and from `tokio_async_patched.rs` after
//! `monkey_patch()` (tokio's own threads have no hub).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use eventlet_rt::{GreenError, GreenThread, TimedOut, block_on, spawn, with_timeout};

use crate::servers;

/// Defines one `#[test]` per scenario, each calling `$setup` first.
#[macro_export]
macro_rules! async_tests {
    ($setup:expr) => {
        $crate::async_tests!(@each $setup;
            fifty_tokio_sleeps_overlap_while_a_ticker_keeps_its_beat,
            tokio_spawn_inside_block_on_and_a_task_that_outlives_it,
            a_busy_hub_still_gives_tokio_turns,
            tokio_sockets_between_two_green_threads,
            a_tokio_future_woken_from_a_plain_os_thread,
            block_on_inside_a_tokio_task_panics_with_advice,
            two_hubs_drive_a_runtime_each,
            ten_thousand_tokio_sleeps_on_one_hub,
            kill_and_timeout_cancel_tokio_futures,
            tokio_postgres_fifty_pg_sleeps_overlap,
            sqlx_fifty_pg_sleeps_overlap,
            sqlx_cancellation_leaves_the_pool_usable,
            reqwest_fifty_gets_at_once,
        );
    };
    (@each $setup:expr; $($name:ident,)*) => {
        $(
            #[test]
            fn $name() {
                ($setup)();
                async_scenarios::$name();
            }
        )*
    };
}

/// How long the calling OS thread has waited for a CPU so far (the second
/// field of `/proc/thread-self/schedstat`); zero where the kernel does not say.
fn waited_for_a_cpu() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|stat| stat.split_whitespace().nth(1)?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// A green thread that sleeps 20 ms at a time until `done`; gives its ticks
/// and the longest gap between two of them, less the time the hub's thread
/// spent waiting for a CPU meanwhile: a gap the hub caused, not the machine.
fn ticker(done: Rc<Cell<bool>>) -> GreenThread<(u32, Duration)> {
    spawn(move || {
        let (mut ticks, mut longest) = (0, Duration::ZERO);
        let (mut last, mut waited) = (Instant::now(), waited_for_a_cpu());
        while !done.get() {
            eventlet_rt::sleep(Duration::from_millis(20));
            ticks += 1;
            let waited_now = waited_for_a_cpu();
            let gap = last
                .elapsed()
                .saturating_sub(waited_now.saturating_sub(waited));
            longest = longest.max(gap);
            (last, waited) = (Instant::now(), waited_now);
        }
        (ticks, longest)
    })
}

/// The longest a 20 ms ticker may wait (less its waits for a CPU); one
/// 200 ms call that froze the hub would show as a gap of 200 ms or more.
const LONGEST_GAP: Duration = Duration::from_millis(150);

/// Runs `calls` green threads, each making one call of about 200 ms, with a
/// ticker beside them; asserts that they overlapped and the hub never froze.
fn fifty_at_once<T: 'static>(calls: Vec<GreenThread<T>>, started: Instant) -> Vec<T> {
    let done = Rc::new(Cell::new(false));
    let ticks = ticker(done.clone());
    let outcomes: Vec<T> = calls.into_iter().map(|c| c.wait().unwrap()).collect();
    let elapsed = started.elapsed();
    done.set(true);
    let (count, longest) = ticks.wait().unwrap();
    assert!(
        elapsed < Duration::from_secs(3),
        "the calls ran one after another: {elapsed:?} (one at a time: 10 s)"
    );
    assert!(count >= 5, "the ticker ticked {count} times in {elapsed:?}");
    assert!(
        longest < LONGEST_GAP,
        "the ticker waited {longest:?} between two ticks"
    );
    outcomes
}

pub fn fifty_tokio_sleeps_overlap_while_a_ticker_keeps_its_beat() {
    let started = Instant::now();
    let sleepers: Vec<_> = (0..50)
        .map(|i| {
            spawn(move || {
                block_on(tokio::time::sleep(Duration::from_millis(200)));
                i
            })
        })
        .collect();
    let ids = fifty_at_once(sleepers, started);
    assert_eq!(ids, (0..50).collect::<Vec<_>>());
    assert!(started.elapsed() >= Duration::from_millis(200));
    // The main context can wait on tokio too, and `Handle::current` works.
    let handle = tokio::runtime::Handle::current();
    assert_eq!(
        handle.runtime_flavor(),
        tokio::runtime::RuntimeFlavor::CurrentThread
    );
    block_on(tokio::time::sleep(Duration::from_millis(5)));
}

pub fn tokio_spawn_inside_block_on_and_a_task_that_outlives_it() {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u32>();
    let later = Arc::new(AtomicBool::new(false));
    let answer = {
        let later = later.clone();
        spawn(move || {
            block_on(async move {
                let inner = tokio::spawn(async { 6 * 7 });
                // Outlives this block_on: it is still sleeping when it returns.
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    later.store(true, Ordering::SeqCst);
                    tx.send(1).unwrap();
                });
                inner.await.unwrap()
            })
        })
    };
    assert_eq!(answer.wait().unwrap(), 42);
    assert!(
        !later.load(Ordering::SeqCst),
        "the outliving task ran early"
    );
    // Nobody waits on a future now: the task alone keeps tokio turning.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !later.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the spawned task never ran to its end"
        );
        eventlet_rt::sleep(Duration::from_millis(5));
    }
    assert_eq!(block_on(rx.recv()), Some(1));
}

pub fn a_busy_hub_still_gives_tokio_turns() {
    eventlet_rt::yield_now(); // the thread's hub, and with it the tokio context
    let fired = Arc::new(AtomicBool::new(false));
    let task = {
        let fired = fired.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            fired.store(true, Ordering::SeqCst);
        })
    };
    // Two green threads that never leave the run queue: the hub never idles.
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let fired = fired.clone();
            spawn(move || {
                let started = Instant::now();
                while !fired.load(Ordering::SeqCst) {
                    assert!(
                        started.elapsed() < Duration::from_secs(10),
                        "tokio never got a turn"
                    );
                    eventlet_rt::yield_now();
                }
            })
        })
        .collect();
    spinners.into_iter().for_each(|s| s.wait().unwrap());
    block_on(task).unwrap();
}

pub fn tokio_sockets_between_two_green_threads() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = spawn(move || {
        let (mut conn, _) = block_on(listener.accept()).unwrap();
        let mut buf = [0; 5];
        block_on(conn.read_exact(&mut buf)).unwrap();
        block_on(conn.write_all(&buf.map(|b| b.to_ascii_uppercase()))).unwrap();
    });
    let client = spawn(move || {
        let mut conn = block_on(tokio::net::TcpStream::connect(addr)).unwrap();
        block_on(conn.write_all(b"hello")).unwrap();
        let mut answer = Vec::new();
        block_on(conn.read_to_end(&mut answer)).unwrap();
        answer
    });
    server.wait().unwrap();
    assert_eq!(client.wait().unwrap(), b"HELLO");
}

pub fn a_tokio_future_woken_from_a_plain_os_thread() {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (go, wait_for_go) = std::sync::mpsc::channel::<()>();
    let sender = std::thread::spawn(move || {
        wait_for_go.recv().unwrap();
        tx.send("from a plain thread").unwrap();
    });
    // Runs only once the main context waits on the future.
    let other = spawn(move || go.send(()).unwrap());
    assert_eq!(block_on(rx).unwrap(), "from a plain thread");
    other.wait().unwrap();
    sender.join().unwrap();
}

pub fn block_on_inside_a_tokio_task_panics_with_advice() {
    eventlet_rt::yield_now(); // the thread's hub, and with it the tokio context
    let task = tokio::spawn(async {
        block_on(tokio::time::sleep(Duration::from_millis(10)));
    });
    let error = block_on(task).unwrap_err();
    let payload = error.into_panic();
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(message.contains("tokio task"), "{message}");
    assert!(message.contains(".await"), "{message}");
    // The hub and its runtime go on.
    block_on(tokio::time::sleep(Duration::from_millis(1)));
    assert_eq!(spawn(|| 1).wait().unwrap(), 1);
}

pub fn two_hubs_drive_a_runtime_each() {
    let hubs = eventlet_rt::hubs::Hubs::new(2).unwrap();
    let ids: Vec<_> = (0..2)
        .map(|i| {
            hubs.handle(i).spawn(|| {
                let started = Instant::now();
                block_on(tokio::time::sleep(Duration::from_millis(50)));
                assert!(started.elapsed() >= Duration::from_millis(50));
                let task = tokio::spawn(async { std::thread::current().name().map(str::to_owned) });
                let name = block_on(task).unwrap();
                (tokio::runtime::Handle::current().id(), name)
            })
        })
        .collect();
    let outcomes: Vec<_> = ids.into_iter().map(|r| r.wait().unwrap()).collect();
    assert_ne!(outcomes[0].0, outcomes[1].0, "one runtime per hub");
    assert_eq!(outcomes[0].1.as_deref(), Some("eventlet-hub-0"));
    assert_eq!(outcomes[1].1.as_deref(), Some("eventlet-hub-1"));
}

pub fn ten_thousand_tokio_sleeps_on_one_hub() {
    const SLEEPERS: usize = 10_000;
    let woken = Rc::new(Cell::new(0));
    let started = Instant::now();
    let sleepers: Vec<_> = (0..SLEEPERS)
        .map(|_| {
            let woken = woken.clone();
            eventlet_rt::Builder::new()
                .stack_size(32 * 1024)
                .spawn(move || {
                    block_on(tokio::time::sleep(Duration::from_millis(100)));
                    woken.set(woken.get() + 1);
                })
        })
        .collect();
    eventlet_rt::yield_now();
    assert_eq!(eventlet_rt::hub::stats().futures_waiting, SLEEPERS);
    sleepers.into_iter().for_each(|s| s.wait().unwrap());
    assert_eq!(woken.get(), SLEEPERS);
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(eventlet_rt::hub::stats().futures_waiting, 0);
}

/// Counts its drops.
struct Dropped(Arc<AtomicUsize>);

impl Drop for Dropped {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

pub fn kill_and_timeout_cancel_tokio_futures() {
    let drops = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let timed = with_timeout(Duration::from_millis(50), || {
        let dropped = Dropped(drops.clone());
        block_on(async move {
            let _dropped = dropped;
            tokio::time::sleep(Duration::from_secs(30)).await;
        })
    });
    assert_eq!(timed, Err(TimedOut));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    let sleeper = {
        let dropped = Dropped(drops.clone());
        spawn(move || {
            block_on(async move {
                let _dropped = dropped;
                tokio::time::sleep(Duration::from_secs(30)).await;
            })
        })
    };
    eventlet_rt::sleep(Duration::from_millis(10));
    sleeper.kill();
    assert!(matches!(sleeper.wait(), Err(GreenError::Killed)));
    assert_eq!(drops.load(Ordering::SeqCst), 2);
    let panicker = spawn(|| {
        block_on(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            panic!("in a tokio future");
        })
    });
    assert_eq!(
        panicker.wait().unwrap_err().panic_message(),
        Some("in a tokio future")
    );
    assert_eq!(eventlet_rt::hub::stats().futures_waiting, 0);
}

fn postgres_url(server: &servers::Server) -> String {
    format!("postgres://postgres@127.0.0.1:{}/postgres", server.port)
}

pub fn tokio_postgres_fifty_pg_sleeps_overlap() {
    let Some(server) = servers::postgres() else {
        return;
    };
    let url = postgres_url(&server);
    let start = eventlet_rt::Event::new();
    let sleepers: Vec<_> = (0..50)
        .map(|_| {
            let (url, start) = (url.clone(), start.clone());
            spawn(move || {
                let (client, connection) =
                    block_on(tokio_postgres::connect(&url, tokio_postgres::NoTls)).unwrap();
                tokio::spawn(connection);
                start.wait();
                let rows =
                    block_on(client.query_one("SELECT pg_sleep(0.2)::text, 7::int4", &[])).unwrap();
                rows.get::<_, i32>(1)
            })
        })
        .collect();
    while eventlet_rt::hub::stats().futures_waiting > 0 || eventlet_rt::hub::stats().queued > 0 {
        eventlet_rt::sleep(Duration::from_millis(5));
    }
    let started = Instant::now();
    start.send(());
    let sevens = fifty_at_once(sleepers, started);
    assert_eq!(sevens, vec![7; 50]);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

fn sqlx_pool(url: &str, size: u32) -> sqlx::PgPool {
    block_on(
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(size)
            .connect(url),
    )
    .unwrap()
}

pub fn sqlx_fifty_pg_sleeps_overlap() {
    let Some(server) = servers::postgres() else {
        return;
    };
    let pool = sqlx_pool(&postgres_url(&server), 50);
    // Open all fifty connections first.
    let warm: Vec<_> = (0..50)
        .map(|_| {
            let pool = pool.clone();
            spawn(move || block_on(pool.acquire()).unwrap())
        })
        .collect();
    let connections: Vec<_> = warm.into_iter().map(|w| w.wait().unwrap()).collect();
    drop(connections);
    let started = Instant::now();
    let sleepers: Vec<_> = (0..50)
        .map(|i| {
            let pool = pool.clone();
            spawn(move || {
                let row: (i64,) = block_on(
                    sqlx::query_as("SELECT $1::int8 FROM pg_sleep(0.2)")
                        .bind(i)
                        .fetch_one(&pool),
                )
                .unwrap();
                row.0
            })
        })
        .collect();
    let ids = fifty_at_once(sleepers, started);
    assert_eq!(ids, (0..50).collect::<Vec<i64>>());
    block_on(pool.close());
}

pub fn sqlx_cancellation_leaves_the_pool_usable() {
    let Some(server) = servers::postgres() else {
        return;
    };
    let pool = sqlx_pool(&postgres_url(&server), 2);
    let started = Instant::now();
    let timed = with_timeout(Duration::from_millis(300), || {
        block_on(sqlx::query("SELECT pg_sleep(5)").execute(&pool))
    });
    assert_eq!(timed.map(|_| ()), Err(TimedOut));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let killed = {
        let pool = pool.clone();
        spawn(move || block_on(sqlx::query("SELECT pg_sleep(5)").execute(&pool)).map(|_| ()))
    };
    eventlet_rt::sleep(Duration::from_millis(100));
    killed.kill();
    assert!(matches!(killed.wait(), Err(GreenError::Killed)));
    let panicked = {
        let pool = pool.clone();
        spawn(move || {
            block_on(async {
                let _: (i32,) = sqlx::query_as("SELECT 1").fetch_one(&pool).await.unwrap();
                panic!("after a query");
            })
        })
    };
    assert_eq!(
        panicked.wait().unwrap_err().panic_message(),
        Some("after a query")
    );
    // Every query since ran on a usable pool, quickly: nothing waits for the
    // cancelled five-second sleeps.
    let started = Instant::now();
    for n in 0..4_i32 {
        let (got,): (i32,) =
            block_on(sqlx::query_as("SELECT $1").bind(n).fetch_one(&pool)).unwrap();
        assert_eq!(got, n);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    block_on(pool.close());
}

/// A local HTTP server on its own OS thread (its own hub): every request
/// sleeps 200 ms (green) and answers its path.
fn slow_http_server() -> (
    std::net::SocketAddr,
    eventlet_rt::http::ShutdownHandle,
    std::thread::JoinHandle<()>,
) {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
        let server = eventlet_rt::http::Server::new(|request: eventlet_rt::http::Request| {
            eventlet_rt::sleep(Duration::from_millis(200));
            eventlet_rt::http::Response::new(request.uri().path().to_string().into())
        });
        tx.send((listener.local_addr().unwrap(), server.shutdown_handle()))
            .unwrap();
        server.serve(listener).unwrap();
    });
    let (addr, shutdown) = rx.recv().unwrap();
    (addr, shutdown, thread)
}

pub fn reqwest_fifty_gets_at_once() {
    let (addr, shutdown, server) = slow_http_server();
    // Made in the main context before any green thread uses it.
    let client = reqwest::Client::new();
    let started = Instant::now();
    let getters: Vec<_> = (0..50)
        .map(|i| {
            let client = client.clone();
            spawn(move || {
                let url = format!("http://{addr}/item/{i}");
                let response = block_on(client.get(&url).send()).unwrap();
                assert_eq!(response.status(), 200);
                block_on(response.text()).unwrap()
            })
        })
        .collect();
    let bodies = fifty_at_once(getters, started);
    let expected: Vec<String> = (0..50).map(|i| format!("/item/{i}")).collect();
    assert_eq!(bodies, expected);
    drop(client);
    shutdown.shutdown();
    server.join().unwrap();
}
