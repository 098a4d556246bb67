//! Names, the hub snapshot and the hub counters: what a user looks at when
//! a server seems stuck.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use eventlet_rt::hub::{self, GreenThreadState};
use eventlet_rt::{Builder, Event, GreenThread, Queue, sleep, spawn, spawn_after, yield_now};

fn state_of(name: &str) -> Option<GreenThreadState> {
    hub::snapshot()
        .green_threads
        .iter()
        .find(|t| t.name.as_deref() == Some(name))
        .map(|t| t.state)
}

#[test]
fn names_from_the_builder_and_set_name_show_in_the_snapshot() {
    let built = Builder::new()
        .name("built")
        .spawn(|| sleep(Duration::from_millis(30)));
    let renamed = spawn(|| sleep(Duration::from_millis(30)));
    renamed.set_name("first name");
    assert_eq!(state_of("built"), Some(GreenThreadState::NotStarted));
    assert_eq!(state_of("first name"), Some(GreenThreadState::NotStarted));
    yield_now();
    assert_eq!(state_of("built"), Some(GreenThreadState::Blocked));
    renamed.set_name("second name");
    assert_eq!(state_of("first name"), None);
    assert_eq!(state_of("second name"), Some(GreenThreadState::Blocked));
    assert_eq!(renamed.name().as_deref(), Some("second name"));
    assert!(format!("{renamed:?}").contains("second name"));
    let text = hub::snapshot().to_string();
    assert!(
        text.contains("blocked      'second name' spawned at "),
        "{text}"
    );
    assert!(text.contains("introspection.rs"), "{text}");
    built.wait().unwrap();
    renamed.wait().unwrap();
    assert_eq!(hub::snapshot().green_threads.len(), 0);
}

#[test]
fn a_green_thread_can_rename_itself_while_it_runs() {
    let me: Rc<RefCell<Option<GreenThread<()>>>> = Rc::new(RefCell::new(None));
    let handle = me.clone();
    let gt = spawn(move || {
        handle.borrow().as_ref().unwrap().set_name("renamed itself");
        assert_eq!(state_of("renamed itself"), Some(GreenThreadState::Running));
    });
    *me.borrow_mut() = Some(gt);
    yield_now();
    let gt = me.borrow_mut().take().unwrap();
    assert_eq!(gt.name().as_deref(), Some("renamed itself"));
    gt.wait().unwrap();
}

#[test]
fn the_snapshot_sorts_green_threads_by_state_and_counts_timers_and_sockets() {
    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let client = eventlet_rt::connect(listener.local_addr().unwrap()).unwrap();
    let (server_side, _) = listener.accept().unwrap();
    let read_fd = server_side.as_raw_fd();
    let gate: Event<()> = Event::new();
    let queue: Queue<u8> = Queue::new();

    let reader = Builder::new().name("reader").spawn(move || {
        let mut byte = [0];
        (&server_side).read(&mut byte).unwrap()
    });
    let getter = {
        let queue = queue.clone();
        Builder::new().name("getter").spawn(move || queue.get())
    };
    let sleeper = Builder::new()
        .name("sleeper")
        .spawn(|| sleep(Duration::from_secs(60)));
    let waiter = {
        let gate = gate.clone();
        Builder::new().name("waiter").spawn(move || gate.wait())
    };
    let later = spawn_after(Duration::from_secs(60), || ());
    later.set_name("later");
    yield_now(); // the four run and block; `later` waits for its timer
    let yielder = Builder::new().name("yielder").spawn(|| {
        for _ in 0..3 {
            yield_now();
        }
    });
    let looker = Builder::new().name("looker").spawn(|| {
        yield_now(); // the yielder is runnable while the snapshot is taken
        let fresh = Builder::new().name("fresh").spawn(|| ());
        (hub::snapshot(), fresh)
    });
    let (picture, fresh) = looker.wait().unwrap();

    assert_eq!(picture.green_threads.len(), 8, "{picture}");
    assert_eq!(picture.count(GreenThreadState::Running), 1, "{picture}");
    assert_eq!(picture.count(GreenThreadState::Runnable), 1, "{picture}");
    assert_eq!(picture.count(GreenThreadState::Blocked), 4, "{picture}");
    assert_eq!(picture.count(GreenThreadState::NotStarted), 2, "{picture}");
    let by_name = |name: &str| {
        picture
            .green_threads
            .iter()
            .find(|t| t.name.as_deref() == Some(name))
            .map(|t| t.state)
    };
    assert_eq!(by_name("looker"), Some(GreenThreadState::Running));
    assert_eq!(by_name("reader"), Some(GreenThreadState::Blocked));
    assert_eq!(by_name("yielder"), Some(GreenThreadState::Runnable));
    assert_eq!(by_name("later"), Some(GreenThreadState::NotStarted));
    assert_eq!(by_name("fresh"), Some(GreenThreadState::NotStarted));
    fresh.wait().unwrap();
    yielder.wait().unwrap();
    // sleep + spawn_after timers; listener + two stream ends registered.
    assert_eq!(picture.stats.timers, 2, "{picture}");
    assert_eq!(picture.stats.io_sources, 3, "{picture}");
    assert_eq!(picture.stats.io_waiters, 1, "{picture}");
    let mut expected = vec![
        (listener.as_raw_fd(), 0, 0),
        (client.as_raw_fd(), 0, 0),
        (read_fd, 1, 0),
    ];
    expected.sort();
    let sockets: Vec<_> = picture
        .sockets
        .iter()
        .map(|s| (s.fd, s.readers, s.writers))
        .collect();
    assert_eq!(sockets, expected, "{picture}");
    assert!(
        picture.to_string().ends_with(&format!(
            "socket fd {read_fd}: 1 waiting to read, 0 waiting to write"
        )),
        "{picture}"
    );
    assert!(
        picture.to_string().starts_with(
            "8 green threads (1 running, 1 runnable, 4 blocked, 2 not started), 2 timers, 3 sockets"
        ),
        "{picture}"
    );

    (&client).write_all(b"x").unwrap();
    queue.put(7);
    gate.send(());
    sleeper.kill();
    later.kill();
    assert_eq!(reader.wait().unwrap(), 1);
    assert_eq!(getter.wait().unwrap(), 7);
    waiter.wait().unwrap();
    assert!(sleeper.wait().unwrap_err().is_killed());
    assert!(later.wait().unwrap_err().is_killed());
    let stats = hub::stats();
    assert_eq!(
        (stats.timers, stats.io_waiters, stats.live_green_threads),
        (0, 0, 0)
    );
}

#[test]
fn pool_and_serve_green_threads_show_where_the_user_spawned_them() {
    let pool = eventlet_rt::GreenPool::new(4);
    let pooled = pool.spawn(|| sleep(Duration::from_millis(20)));
    assert_eq!(pooled.spawned_at().file(), file!());
    assert_eq!(pooled.spawned_at().line(), line!() - 2);

    let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handlers = pool.clone();
    let started: Queue<()> = Queue::new();
    let handler_started = started.clone();
    let serve_line = line!() + 2;
    let server = spawn(move || {
        eventlet_rt::serve_with_pool(listener, &handlers, move |stream, _| {
            handler_started.put(());
            let _ = (&stream).read(&mut [0; 1]);
        })
    });
    let client = eventlet_rt::connect(addr).unwrap();
    started.get();
    yield_now(); // the handler goes on and blocks in its read
    let handler = hub::snapshot()
        .green_threads
        .into_iter()
        .find(|t| t.spawned_at.line() == serve_line)
        .expect("the handler is listed at the serve call");
    assert_eq!(handler.spawned_at.file(), file!());
    assert_eq!(handler.state, GreenThreadState::Blocked);
    drop(client);
    pool.waitall();
    pooled.wait().unwrap();
    server.kill();
    assert!(server.wait().unwrap_err().is_killed());
}
