//! Many green TLS clients against one green TLS server on one hub.

mod common;

use std::io::{Read, Write};

use common::{Identity, echo_server};
use eventlet_rt::{GreenPool, hub};

/// The bytes client `id` sends in round `round`: distinct per client and round.
fn pattern(id: usize, round: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i * 31 + id * 7 + round * 13) as u8)
        .collect()
}

#[test]
fn two_hundred_concurrent_clients_get_their_own_bytes_back() {
    let identity = Identity::localhost();
    let (addr, server) = echo_server(identity.acceptor.clone());
    let connector = identity.connector();
    let sources_before = hub::stats().io_sources;

    let pool = GreenPool::new(200);
    let echoed: Vec<usize> = pool
        .imap(
            move |id: usize| {
                let tcp = eventlet_rt::connect(addr).unwrap();
                let mut tls = connector.connect("localhost", tcp).unwrap();
                let mut total = 0;
                for round in 0..4 {
                    let sent = pattern(id, round, 1_000 + id * 37);
                    tls.write_all(&sent).unwrap();
                    let mut back = vec![0; sent.len()];
                    tls.read_exact(&mut back).unwrap();
                    assert_eq!(back, sent, "client {id}, round {round}");
                    total += back.len();
                }
                tls.shutdown().unwrap();
                assert_eq!(tls.read(&mut [0; 1]).unwrap(), 0, "the server ends too");
                total
            },
            0..200,
        )
        .collect();

    let expected: Vec<usize> = (0..200).map(|id| 4 * (1_000 + id * 37)).collect();
    assert_eq!(echoed, expected);
    server.kill();
    assert!(server.wait().is_err(), "killed");
    assert_eq!(
        hub::stats().io_sources,
        sources_before - 1,
        "only the listener went"
    );
}

#[test]
fn a_megabyte_each_way_arrives_intact() {
    let identity = Identity::localhost();
    let (addr, server) = echo_server(identity.acceptor.clone());
    let mut tls = identity
        .connector()
        .connect("127.0.0.1", eventlet_rt::connect(addr).unwrap())
        .unwrap();
    let sent = pattern(1, 1, 1 << 20);
    let mut reader_side = Vec::new();
    // Write and read in slices so neither side's socket buffer fills up.
    for chunk in sent.chunks(64 * 1024) {
        tls.write_all(chunk).unwrap();
        let mut back = vec![0; chunk.len()];
        tls.read_exact(&mut back).unwrap();
        reader_side.extend_from_slice(&back);
    }
    assert!(reader_side == sent);
    server.kill();
}
