//! TLS on one core: full handshakes per second and bulk throughput over
//! loopback, eventlet-rt's `green::tls` against tokio (current_thread) with
//! tokio-rustls. Client and server run on the same OS thread in both
//! runtimes, with the same rustls configurations (ring provider, TLS 1.3,
//! an ECDSA P-256 certificate, session resumption off so every handshake
//! is a full one). Rounds alternate between the runtimes; the median of
//! each is reported.

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::Resumption;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

/// Concurrent client connections in the handshake benchmark.
const CLIENTS: usize = 8;
/// Handshakes per round.
const HANDSHAKES: usize = 2_000;
/// Bytes sent per bulk round.
const BULK_BYTES: usize = 256 << 20;
/// Size of each write in the bulk benchmark.
const CHUNK: usize = 64 * 1024;
/// Measured rounds per runtime (after one warm-up round each).
const ROUNDS: usize = 5;

struct Configs {
    server: Arc<ServerConfig>,
    client: Arc<ClientConfig>,
}

fn configs() -> Configs {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let identity = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert: CertificateDer<'static> = identity.cert.der().clone();
    let key: PrivateKeyDer<'static> = identity.signing_key.serialize_der().try_into().unwrap();
    let server = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .unwrap();
    let mut roots = RootCertStore::empty();
    roots.add(cert).unwrap();
    let mut client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client.resumption = Resumption::disabled();
    Configs {
        server: Arc::new(server),
        client: Arc::new(client),
    }
}

mod green {
    use super::*;
    use eventlet_rt::green::tls::{TlsAcceptor, TlsConnector};
    use eventlet_rt::{GreenPool, spawn};

    /// Handshakes per second: `CLIENTS` green threads connect, shake hands,
    /// exchange a byte and close, `HANDSHAKES` times in all.
    pub fn handshakes(configs: &Configs) -> f64 {
        let acceptor = TlsAcceptor::from(configs.server.clone());
        let connector = TlsConnector::from(configs.client.clone());
        let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(move || {
            eventlet_rt::serve(listener, move |tcp, _| {
                tcp.set_nodelay(true).unwrap();
                let mut tls = acceptor.accept(tcp).unwrap();
                let mut byte = [0];
                tls.read_exact(&mut byte).unwrap();
                tls.write_all(&byte).unwrap();
            })
        });
        let pool = GreenPool::new(CLIENTS);
        let start = Instant::now();
        let done = pool
            .imap(
                move |_| {
                    let tcp = eventlet_rt::connect(addr).unwrap();
                    tcp.set_nodelay(true).unwrap();
                    let mut tls = connector.connect("localhost", tcp).unwrap();
                    tls.write_all(b"x").unwrap();
                    tls.read_exact(&mut [0]).unwrap();
                },
                0..HANDSHAKES,
            )
            .count();
        let rate = done as f64 / start.elapsed().as_secs_f64();
        server.kill();
        rate
    }

    /// MB/s: one connection, the client sends `BULK_BYTES`, the server
    /// reads them all and answers with one byte.
    pub fn bulk(configs: &Configs) -> f64 {
        let acceptor = TlsAcceptor::from(configs.server.clone());
        let connector = TlsConnector::from(configs.client.clone());
        let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(move || {
            let (tcp, _) = listener.accept().unwrap();
            let mut tls = acceptor.accept(tcp).unwrap();
            let mut buf = vec![0; CHUNK];
            let mut got = 0;
            while got < BULK_BYTES {
                got += tls.read(&mut buf).unwrap();
            }
            tls.write_all(b"k").unwrap();
        });
        let mut tls = connector
            .connect("localhost", eventlet_rt::connect(addr).unwrap())
            .unwrap();
        let chunk = vec![7u8; CHUNK];
        let start = Instant::now();
        for _ in 0..BULK_BYTES / CHUNK {
            tls.write_all(&chunk).unwrap();
        }
        tls.read_exact(&mut [0]).unwrap();
        let elapsed = start.elapsed();
        server.wait().unwrap();
        BULK_BYTES as f64 / 1e6 / elapsed.as_secs_f64()
    }
}

mod tokio_side {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::rustls::pki_types::ServerName;
    use tokio_rustls::{TlsAcceptor, TlsConnector};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .unwrap()
    }

    pub fn handshakes(configs: &Configs) -> f64 {
        let acceptor = TlsAcceptor::from(configs.server.clone());
        let connector = TlsConnector::from(configs.client.clone());
        runtime().block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                loop {
                    let (tcp, _) = listener.accept().await.unwrap();
                    let acceptor = acceptor.clone();
                    tokio::spawn(async move {
                        tcp.set_nodelay(true).unwrap();
                        let mut tls = acceptor.accept(tcp).await.unwrap();
                        let mut byte = [0];
                        tls.read_exact(&mut byte).await.unwrap();
                        tls.write_all(&byte).await.unwrap();
                        tls.flush().await.unwrap();
                    });
                }
            });
            let start = Instant::now();
            let clients: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    let connector = connector.clone();
                    tokio::spawn(async move {
                        for _ in 0..HANDSHAKES / CLIENTS {
                            let tcp = TcpStream::connect(addr).await.unwrap();
                            tcp.set_nodelay(true).unwrap();
                            let name = ServerName::try_from("localhost").unwrap();
                            let mut tls = connector.connect(name, tcp).await.unwrap();
                            tls.write_all(b"x").await.unwrap();
                            tls.flush().await.unwrap();
                            tls.read_exact(&mut [0]).await.unwrap();
                        }
                    })
                })
                .collect();
            for client in clients {
                client.await.unwrap();
            }
            let rate = (HANDSHAKES / CLIENTS * CLIENTS) as f64 / start.elapsed().as_secs_f64();
            server.abort();
            rate
        })
    }

    pub fn bulk(configs: &Configs) -> f64 {
        let acceptor = TlsAcceptor::from(configs.server.clone());
        let connector = TlsConnector::from(configs.client.clone());
        runtime().block_on(async move {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let mut tls = acceptor.accept(tcp).await.unwrap();
                let mut buf = vec![0; CHUNK];
                let mut got = 0;
                while got < BULK_BYTES {
                    got += tls.read(&mut buf).await.unwrap();
                }
                tls.write_all(b"k").await.unwrap();
                tls.flush().await.unwrap();
            });
            let tcp = TcpStream::connect(addr).await.unwrap();
            let name = ServerName::try_from("localhost").unwrap();
            let mut tls = connector.connect(name, tcp).await.unwrap();
            let chunk = vec![7u8; CHUNK];
            let start = Instant::now();
            for _ in 0..BULK_BYTES / CHUNK {
                tls.write_all(&chunk).await.unwrap();
            }
            tls.flush().await.unwrap();
            tls.read_exact(&mut [0]).await.unwrap();
            let elapsed = start.elapsed();
            server.await.unwrap();
            BULK_BYTES as f64 / 1e6 / elapsed.as_secs_f64()
        })
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs both benchmarks of one kind, alternating, and prints the medians.
fn compare(
    what: &str,
    unit: &str,
    configs: &Configs,
    green: fn(&Configs) -> f64,
    tokio: fn(&Configs) -> f64,
) {
    green(configs);
    tokio(configs);
    let (mut green_samples, mut tokio_samples) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        green_samples.push(green(configs));
        tokio_samples.push(tokio(configs));
        std::thread::sleep(Duration::from_millis(50));
    }
    let (g, t) = (median(green_samples.clone()), median(tokio_samples.clone()));
    println!(
        "{what}: eventlet-rt {g:.0} {unit}, tokio-rustls {t:.0} {unit}, ratio {:.3}",
        g / t
    );
    println!("  eventlet-rt rounds: {green_samples:.0?}");
    println!("  tokio-rustls rounds: {tokio_samples:.0?}");
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument picks one benchmark.
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let configs = configs();
    let wanted = |name: &str| filter.as_deref().is_none_or(|f| name.contains(f));
    if wanted("handshakes") {
        compare(
            "handshakes",
            "handshakes/s",
            &configs,
            green::handshakes,
            tokio_side::handshakes,
        );
    }
    if wanted("bulk") {
        compare("bulk", "MB/s", &configs, green::bulk, tokio_side::bulk);
    }
}
