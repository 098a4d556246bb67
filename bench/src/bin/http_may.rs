//! The HTTP peer on `may`: may_minihttp's TechEmpower server (plaintext and
//! json), as its own `techempower_no_db` example runs it.
//!
//! `http_may ADDR WORKERS`

use std::io;

use eventlet_bench::http::{JSON, PLAINTEXT, server_args};
use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};

struct Techempower;

impl HttpService for Techempower {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        match req.path() {
            "/json" => {
                rsp.header("Content-Type: application/json").body(JSON);
            }
            "/plaintext" => {
                rsp.header("Content-Type: text/plain").body(PLAINTEXT);
            }
            _ => {
                rsp.status_code(404, "Not Found");
            }
        }
        Ok(())
    }
}

struct Factory;

impl HttpServiceFactory for Factory {
    type Service = Techempower;

    fn new_service(&self, _: usize) -> Techempower {
        Techempower
    }
}

fn main() {
    let (addr, workers) = server_args();
    may::config()
        .set_workers(workers)
        .set_pool_capacity(1000)
        .set_stack_size(0x1000);
    let server = Factory.start(addr).expect("bind");
    server.join().unwrap();
}
