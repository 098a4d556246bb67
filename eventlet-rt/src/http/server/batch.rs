//! Writing response heads into a connection's output batch: the pieces
//! every head has, each line written after one check for room.

use super::date::HttpDate;

/// `name: value` and its line end.
#[inline]
pub(crate) fn put_field(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.reserve(name.len() + value.len() + 4);
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// A header line given whole (`"Content-Type: text/plain"`) and its end.
#[inline]
pub(crate) fn put_line(out: &mut Vec<u8>, line: &[u8]) {
    out.reserve(line.len() + 2);
    out.extend_from_slice(line);
    out.extend_from_slice(b"\r\n");
}

/// `Content-Length: n` and its line end.
#[inline]
pub(crate) fn put_length(out: &mut Vec<u8>, length: u64) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(length).as_bytes();
    out.reserve(16 + digits.len() + 2);
    out.extend_from_slice(b"Content-Length: ");
    out.extend_from_slice(digits);
    out.extend_from_slice(b"\r\n");
}

/// The `Date` line and the empty line that ends the head.
#[inline]
pub(crate) fn put_date_and_end(out: &mut Vec<u8>, date: &HttpDate) {
    out.reserve(6 + date.len() + 4);
    out.extend_from_slice(b"Date: ");
    out.extend_from_slice(date);
    out.extend_from_slice(b"\r\n\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_of_a_head() {
        let mut out = b"HTTP/1.1 200 OK\r\n".to_vec();
        put_field(&mut out, b"content-type", b"text/plain");
        put_line(&mut out, b"Server: x");
        put_length(&mut out, 1234);
        put_date_and_end(&mut out, b"Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(
            out,
            b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nServer: x\r\nContent-Length: 1234\r\n\
              Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"
        );
    }
}
