//! The HTTP/1.1 side of the site: read a `GET` with `httparse`, answer it
//! from [`route`], close.

use std::io::{self, Read, Write};

use super::pages::{Route, route};

/// Answers one request on `stream`; an error just ends the connection.
pub(super) fn respond(stream: &mut impl ReadWrite) -> io::Result<()> {
    let Some(path) = read_request_path(stream)? else {
        return Ok(());
    };
    let response = match route(&path) {
        Some(Route::Body {
            latency,
            content_type,
            body,
            chunked,
        }) => {
            eventlet_rt::sleep(latency);
            ok_response(content_type, body, chunked)
        }
        Some(Route::Redirect(location)) => format!(
            "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
             Connection: close\r\n\r\n"
        )
        .into_bytes(),
        None => {
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".to_vec()
        }
    };
    stream.write_all(&response)
}

/// A stream the site can serve: a plain or a TLS connection.
pub(super) trait ReadWrite: Read + Write {}
impl<S: Read + Write> ReadWrite for S {}

fn ok_response(content_type: &str, body: Vec<u8>, chunked: bool) -> Vec<u8> {
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nServer: eventlet-examples\r\n\
         {framing}\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    if !chunked {
        response.extend_from_slice(&body);
        return response;
    }
    for chunk in body.chunks(4096) {
        response.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        response.extend_from_slice(chunk);
        response.extend_from_slice(b"\r\n");
    }
    response.extend_from_slice(b"0\r\n\r\n");
    response
}

/// Reads a request head; the path of a `GET`, `None` for anything else.
fn read_request_path(stream: &mut impl Read) -> io::Result<Option<String>> {
    let mut buf = Vec::new();
    let mut chunk = [0; 2048];
    loop {
        let n = stream.read(&mut chunk)?;
        if n == 0 || buf.len() > 16 * 1024 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf) {
            Ok(httparse::Status::Complete(_)) if request.method == Some("GET") => {
                return Ok(request.path.map(str::to_owned));
            }
            Ok(httparse::Status::Partial) => continue,
            _ => return Ok(None),
        }
    }
}
