//! Eventlet's chat server: every line a participant sends goes to all the
//! others. One green thread per participant; they share the list of
//! participants through an `Rc<RefCell<..>>`, with no lock.
//!
//! ```text
//! cargo run --release -p eventlet-examples --bin chat_server                # port 3001
//! cargo run --release -p eventlet-examples --bin chat_server -- --port 0    # any free port
//! ```
//!
//! Join with `nc localhost 3001` from several terminals.

use std::cell::RefCell;
use std::io::{self, BufRead, BufReader, Write};
use std::rc::Rc;

use clap::Parser;
use eventlet_rt::AcceptBackoff;
use eventlet_rt::green::net::TcpStream;

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
}

fn main() -> io::Result<()> {
    let Options { port, host } = Options::parse();

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
