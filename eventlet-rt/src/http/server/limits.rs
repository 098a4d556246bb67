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
    /// The slowest a client may send a body or read a response, in bytes
    /// per second, once the body or write timeout's allowance is spent.
    pub(crate) min_data_rate: u64,
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
            min_data_rate: 500,
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
        self.max_header_bytes
            .max(self.max_request_line)
            .saturating_add(READ_CHUNK)
    }

    /// How many header slots a parse needs: `max_headers`, or as many
    /// fields as fit in the largest head where that is fewer (a field line
    /// takes three bytes at least, `a:` and a line end), so that a limit
    /// of "no limit" (`usize::MAX`) does not size the slots to it.
    pub(crate) fn header_slots(&self) -> usize {
        self.max_headers.min(self.head_buffer_limit() / 3 + 1)
    }
}

/// How long a client has kept the server waiting on one request's body, or
/// on taking one batch of responses, against what it may: a timeout's
/// worth, plus a second per `min_data_rate` bytes moved. Only the waits
/// count, not the time the handler spends between reads.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct WaitBudget {
    waited: Duration,
    moved: u64,
}

impl WaitBudget {
    /// What is left of the budget, `None` once it is spent.
    pub(crate) fn left(&self, base: Duration, min_data_rate: u64) -> Option<Duration> {
        let earned_micros = self.moved.saturating_mul(1_000_000) / min_data_rate.max(1);
        (base + Duration::from_micros(earned_micros))
            .checked_sub(self.waited)
            .filter(|left| *left >= Duration::from_millis(1))
    }

    /// Counts one wait of `waited` that moved `bytes`.
    pub(crate) fn record(&mut self, waited: Duration, bytes: usize) {
        self.waited += waited;
        self.moved += bytes as u64;
    }
}

// Tuning constants.
/// The read buffer a connection starts with, and the least free space a read
/// asks for: a TechEmpower batch of 16 pipelined requests fits.
pub(crate) const READ_CHUNK: usize = 8 * 1024;
/// The room a new output batch starts with: a batch of small responses, or
/// one response's head, fits without growing it.
pub(crate) const BATCH_START: usize = 2 * 1024;
/// How many read buffers, output batches and header maps each hub keeps
/// from connections gone idle, for the next ones to wake (its connections
/// run one at a time, so a few cover a busy hub).
pub(crate) const SPARE_BUFFERS: usize = 8;
/// A header map with room for more entries than this is not kept for reuse.
pub(crate) const MAX_SPARE_HEADERS: usize = 64;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_slots_follow_the_limit_up_to_what_fits_in_a_head() {
        let mut settings = Settings::default();
        assert_eq!(settings.header_slots(), 100);
        settings.max_headers = 5;
        assert_eq!(settings.header_slots(), 5);
        settings.max_headers = usize::MAX;
        assert_eq!(settings.header_slots(), (65536 + READ_CHUNK) / 3 + 1);
        settings.max_header_bytes = usize::MAX;
        assert_eq!(settings.head_buffer_limit(), usize::MAX, "saturates");
    }

    #[test]
    fn a_wait_budget_grows_with_the_bytes_moved_and_shrinks_with_the_waits() {
        let base = Duration::from_secs(60);
        let mut budget = WaitBudget::default();
        assert_eq!(budget.left(base, 500), Some(base));
        budget.record(Duration::from_secs(59), 1);
        assert_eq!(
            budget.left(base, 500),
            Some(Duration::from_micros(1_002_000))
        );
        budget.record(Duration::from_secs(59), 1);
        assert_eq!(
            budget.left(base, 500),
            None,
            "a byte every 59 s is too slow"
        );
        let mut fast = WaitBudget::default();
        fast.record(Duration::from_secs(100), 50_000);
        assert_eq!(fast.left(base, 500), Some(Duration::from_secs(60)));
    }
}
