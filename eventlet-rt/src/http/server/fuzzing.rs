//! Entry points for the fuzz targets in `fuzz/` (cargo feature `fuzzing`;
//! not an API): the server's own request-head parser and chunked decoder,
//! fed from memory in the pieces the fuzzer chooses, as a connection's
//! reads would bring them.

use std::io::{self, Read, Write};
use std::rc::Rc;
use std::time::Duration;

use super::body::Body;
use super::head::Framing;
use super::inbuf::InBuf;
use super::limits::Settings;
use super::parse::{HeadParser, Parsed};
use super::spares::Spares;
use super::wire::{Transport, Wire};

/// Small limits, so that short fuzz inputs reach every limit check.
fn settings() -> Settings {
    Settings {
        max_request_line: 64,
        max_header_line: 64,
        max_header_bytes: 256,
        max_headers: 8,
        max_body_bytes: Some(512),
        ..Settings::default()
    }
}

/// What a request head came to: the parts a handler sees, or the status
/// the server refused it with.
pub type HeadOutcome = Result<(String, String, String, Vec<(String, Vec<u8>)>), u16>;

/// Parses the first request head of `input`, given to the parser in pieces
/// that end at `cuts` (positions into `input`, any order; out-of-range ones
/// are ignored) as a connection's reads would. `None` when the input ends
/// before the head does.
pub fn first_head(input: &[u8], cuts: &[usize]) -> Option<HeadOutcome> {
    let settings = settings();
    let mut source = Pieces::new(input, cuts);
    let mut buffer = InBuf::new();
    let mut parser = HeadParser::default();
    loop {
        match buffer.read_from(&mut source, settings.head_buffer_limit()) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(_) => return Some(Err(431)),
        }
        match parser.parse(&mut buffer, &settings, &Spares::default(), None) {
            Ok(None) => {}
            Err(status) => return Some(Err(status.as_u16())),
            Ok(Some(Parsed::Answered { .. })) => unreachable!("no borrowed handler"),
            Ok(Some(Parsed::Request(_))) => {
                let request = parser.take_request(Body::empty());
                let headers = request
                    .headers()
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                    .collect();
                return Some(Ok((
                    request.method().to_string(),
                    request.uri().to_string(),
                    format!("{:?}", request.version()),
                    headers,
                )));
            }
        }
    }
}

/// Reads a chunked body from `input` (which starts right after the head),
/// arriving in pieces that end at `cuts`, through the same code a handler's
/// reads go through; reads of `read_size` bytes (at least 1). The body, or
/// the status the server would answer; the bytes of `input` left after it.
pub fn chunked_body(
    input: &[u8],
    cuts: &[usize],
    read_size: usize,
) -> (Result<Vec<u8>, u16>, usize) {
    let source = Pieces::new(input, cuts);
    let Ok(mut wire) = Wire::new(source, Rc::new(settings()), Rc::default()) else {
        unreachable!("an in-memory source takes any timeout");
    };
    wire.start_request(1, Framing::Chunked, false);
    let mut body = Vec::new();
    let mut buf = vec![0; read_size.max(1)];
    let outcome = loop {
        match wire.read_body(&mut buf) {
            Ok(0) => break Ok(body),
            Ok(n) => body.extend_from_slice(&buf[..n]),
            Err(_) => break Err(wire.failure.map_or(0, |status| status.as_u16())),
        }
    };
    let left = wire.input.data().len() + wire.stream.left();
    (outcome, left)
}

/// `input` handed out one piece per read, cut at the given positions.
struct Pieces {
    input: Vec<u8>,
    at: usize,
    cuts: Vec<usize>,
}

impl Pieces {
    fn new(input: &[u8], cuts: &[usize]) -> Pieces {
        let mut cuts: Vec<usize> = cuts.iter().copied().filter(|&c| c < input.len()).collect();
        cuts.sort_unstable();
        cuts.dedup();
        Pieces {
            input: input.to_vec(),
            at: 0,
            cuts,
        }
    }

    fn left(&self) -> usize {
        self.input.len() - self.at
    }
}

impl Read for Pieces {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let end = self
            .cuts
            .iter()
            .copied()
            .find(|&cut| cut > self.at)
            .unwrap_or(self.input.len());
        let n = (end - self.at).min(buf.len());
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl Write for Pieces {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Transport for Pieces {
    fn set_read_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    fn set_write_timeout(&self, _: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    fn close_write(&mut self) {}

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read(buf)
    }

    fn wait_readable(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write(buf)
    }

    fn tcp(&self) -> io::Result<crate::green::net::TcpStream> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_head_however_it_is_cut() {
        let head = b"GET /a HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n";
        let whole = first_head(head, &[]).unwrap().unwrap();
        assert_eq!(whole.1, "/a");
        for cut in 1..head.len() {
            assert_eq!(first_head(head, &[cut]).unwrap().unwrap(), whole, "{cut}");
        }
        assert_eq!(first_head(b"GET /a HTTP/1.1\r\n", &[]), None);
        assert_eq!(first_head(b"GET /a HTTP/1.1\r\n\r\n", &[]), Some(Err(400)));
    }

    #[test]
    fn the_same_body_however_it_is_cut() {
        let body = b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\nNEXT";
        for cut in 0..body.len() {
            for read_size in [1, 2, 100] {
                assert_eq!(
                    chunked_body(body, &[cut], read_size),
                    (Ok(b"abcde".to_vec()), 4),
                    "{cut} {read_size}"
                );
            }
        }
        assert_eq!(chunked_body(b"0x5\r\nhello", &[], 9).0, Err(400));
        assert_eq!(chunked_body(b"3\r\nabc", &[], 9).0, Err(400), "cut short");
    }
}
