//! The server's settings: timeouts and limits, with their defaults.

use std::time::Duration;

/// Every setting of a [`Server`](super::Server), each with its default.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    /// How long a kept-alive connection may wait for its next request.
    pub(crate) keep_alive_timeout: Duration,
    /// How long a request head may take to arrive, from its first byte (or
    /// from the connection's start for its first request).
    pub(crate) header_read_timeout: Duration,
    /// How long one read of a request body may wait.
    pub(crate) body_read_timeout: Duration,
    /// How long one write of a response may wait for the client to read.
    pub(crate) write_timeout: Duration,
    pub(crate) max_request_line: usize,
    pub(crate) max_header_line: usize,
    pub(crate) max_header_bytes: usize,
    pub(crate) max_headers: usize,
    pub(crate) max_body_bytes: Option<u64>,
    pub(crate) max_connections: usize,
    pub(crate) shutdown_grace: Duration,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            keep_alive_timeout: Duration::from_secs(75),
            header_read_timeout: Duration::from_secs(30),
            body_read_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(60),
            max_request_line: 8192,
            max_header_line: 8192,
            max_header_bytes: 65536,
            max_headers: 100,
            max_body_bytes: None,
            max_connections: 10_000,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl Settings {
    /// The most a connection's read buffer grows to while a head arrives.
    pub(crate) fn head_buffer_limit(&self) -> usize {
        self.max_header_bytes.max(self.max_request_line) + READ_CHUNK
    }
}

// Tuning constants.
/// The read buffer a connection starts with, and the least free space a read
/// asks for: a TechEmpower batch of 16 pipelined requests fits.
pub(crate) const READ_CHUNK: usize = 8 * 1024;
/// Responses of a pipelined batch are written together until they reach this.
pub(crate) const WRITE_HIGH_WATER: usize = 64 * 1024;
/// Bodies up to this are copied into the batch; longer ones are written apart.
pub(crate) const COPY_BODY_LIMIT: usize = 16 * 1024;
/// What one read of a streamed response body asks for (one chunk on the wire).
pub(crate) const STREAM_CHUNK: usize = 32 * 1024;
/// An unread request body up to this is read and dropped so the connection
/// can serve its next request; past it, the connection closes.
pub(crate) const DRAIN_LIMIT: u64 = 64 * 1024;
/// A chunk-size line (size and extensions) longer than this is refused.
pub(crate) const MAX_CHUNK_LINE: usize = 4096;
/// After an error answer, how long and how much the server still reads (and
/// drops) before closing, so that the client sees the answer instead of a
/// reset caused by its unread bytes.
pub(crate) const LINGER_TIME: Duration = Duration::from_millis(500);
pub(crate) const LINGER_BYTES: usize = 1024 * 1024;
