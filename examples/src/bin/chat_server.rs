//! Eventlet's chat server: every line a participant sends goes to all the
//! others. One green thread per participant; they share the list of
//! participants through an `Rc<RefCell<..>>`, with no lock.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin chat_server                # port 3001
//! cargo run --release -p eventlet-examples --bin chat_server -- --port 0    # any free port
//! cargo run --release -p eventlet-examples --bin chat_server -- --threads 2 # a hub per core
//! ```
//!
//! With `--threads N` above 1, `N` hubs accept on their own `SO_REUSEPORT`
//! listeners. Each hub keeps its own participants (no lock) and a relay
//! green thread that writes to them what comes in on its `green::mpsc`
//! channel; a participant's line is sent to every hub's channel, so it
//! reaches the participants of all hubs.
//!
//! Join with `nc localhost 3001` from several terminals.

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Write};
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use clap::Parser;
use eventlet_rt::AcceptBackoff;
use eventlet_rt::green::mpsc;
use eventlet_rt::green::net::TcpStream;
use eventlet_rt::hubs::Hubs;

/// Who is in the chat: an id (to skip the sender) and a handle to write to.
type Participants = Rc<RefCell<Vec<(u64, TcpStream)>>>;

/// Relays `id`'s lines to everyone else until it leaves.
fn read_chat_forever(id: u64, reader: TcpStream, participants: Participants) {
    for line in BufReader::new(reader).lines() {
        let Ok(line) = line else { break };
        println!("Chat: {line}");
        // Clone the handles first: writing may park this green thread, and
        // others join or leave meanwhile.
        let others: Vec<TcpStream> = participants
            .borrow()
            .iter()
            .filter(|(other, _)| *other != id)
            .filter_map(|(_, stream)| stream.try_clone().ok())
            .collect();
        for mut other in others {
            // A participant that just left is no reason to stop.
            let _ = writeln!(other, "{line}");
        }
    }
    participants.borrow_mut().retain(|(other, _)| *other != id);
    println!("Participant left chat.");
}

/// A chat server: every line from one client goes to all the others.
#[derive(Parser, Debug)]
struct Options {
    /// The port to listen on (0: any free port, printed on the first line).
    #[arg(long, default_value_t = 3001)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "0.0.0.0")]
    host: String,
    /// Hubs (OS threads) to serve on; 1 runs everything on the main thread.
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

fn main() -> io::Result<()> {
    let Options {
        port,
        host,
        threads,
    } = Options::parse();
    if threads > 1 {
        return chat_on_hubs(&host, port, threads);
    }

    let server = eventlet_rt::listen((host.as_str(), port))?;
    println!(
        "ChatServer starting up on port {}",
        server.local_addr()?.port()
    );
    io::stdout().flush()?;
    let participants: Participants = Rc::default();
    // Out of descriptors, it waits for participants to leave instead of exiting.
    let mut backoff = AcceptBackoff::new();
    for id in 0.. {
        let (connection, _) = backoff.accept(&server)?;
        println!("Participant joined chat.");
        participants
            .borrow_mut()
            .push((id, connection.try_clone()?));
        let participants = participants.clone();
        eventlet_rt::spawn_n(move || read_chat_forever(id, connection, participants));
    }
    Ok(())
}

/// A line from participant `from`, on its way to every hub.
type Line = (u64, String);

thread_local! {
    /// The participants of this hub.
    static LOCAL: Participants = Participants::default();
}

/// Writes every line that comes in to this hub's participants but its sender.
fn relay(lines: mpsc::Receiver<Line>) {
    for (from, line) in lines {
        let others: Vec<TcpStream> = LOCAL.with(|local| {
            local
                .borrow()
                .iter()
                .filter(|(other, _)| *other != from)
                .filter_map(|(_, stream)| stream.try_clone().ok())
                .collect()
        });
        for mut other in others {
            let _ = writeln!(other, "{line}");
        }
    }
}

/// `--threads N`: one hub per thread, lines passed between hubs on `Send` channels.
fn chat_on_hubs(host: &str, port: u16, threads: usize) -> io::Result<()> {
    // Every hub binds the same port: pick a free one first if asked for any.
    let port = match port {
        0 => std::net::TcpListener::bind((host, 0))?.local_addr()?.port(),
        port => port,
    };
    let hubs = Hubs::new(threads)?;
    let hubs_lines: Vec<mpsc::Sender<Line>> = (0..threads)
        .map(|hub| {
            let (lines, incoming) = mpsc::channel();
            hubs.handle(hub).spawn(move || relay(incoming));
            lines
        })
        .collect();
    let hubs_lines = Arc::new(hubs_lines);
    let next_id = AtomicU64::new(0);
    println!("ChatServer starting up with {threads} hubs on port {port}");
    io::stdout().flush()?;
    eventlet_rt::hubs::serve_on(&hubs, (host, port), move |connection, _| {
        let id = next_id.fetch_add(1, Ordering::Relaxed);
        println!("Participant joined chat.");
        let Ok(writer) = connection.try_clone() else {
            return;
        };
        LOCAL.with(|local| local.borrow_mut().push((id, writer)));
        for line in BufReader::new(connection).lines() {
            let Ok(line) = line else { break };
            println!("Chat: {line}");
            for hub in hubs_lines.iter() {
                let _ = hub.send((id, line.clone()));
            }
        }
        LOCAL.with(|local| local.borrow_mut().retain(|(other, _)| *other != id));
        println!("Participant left chat.");
    })
}
