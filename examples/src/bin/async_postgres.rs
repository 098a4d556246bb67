//! Async crates from green threads: fifty blocking-style functions query
//! PostgreSQL through tokio-postgres at once, on one OS thread, with `.await`
//! inside `#[green]` functions (each await parks only its green thread).
//!
//! `async_postgres [--url postgres://USER@HOST:PORT/DB]` (default: the
//! `DATABASE_URL` environment variable, then
//! `postgres://postgres@127.0.0.1:5432/postgres`). Each query sleeps 200 ms in
//! the server; the fifty finish together, in about 0.2 s, not 10 s.

use std::time::Instant;

use clap::Parser;
use eventlet_rt::{GreenPool, green, pool_imap};

#[derive(Parser)]
#[command(about = "Fifty green threads query PostgreSQL through tokio-postgres at once")]
struct Args {
    /// The server to query (default: `$DATABASE_URL`, then
    /// `postgres://postgres@127.0.0.1:5432/postgres`)
    #[arg(long)]
    url: Option<String>,
}

/// One connection, one slow query: plain blocking-style code.
#[green]
fn slow_square(url: String, n: i32) -> Result<i32, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection); // runs on this hub's own tokio runtime
    let row = client
        .query_one("SELECT $1::int4 * $1::int4 FROM pg_sleep(0.2)", &[&n])
        .await?;
    Ok(row.get(0))
}

fn main() {
    let url = Args::parse()
        .url
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let started = Instant::now();
    let pool = GreenPool::new(50);
    let squares: Result<Vec<i32>, _> =
        pool_imap!(pool, slow_square(url.clone(), n) for n in 1..=50).collect();
    match squares {
        Ok(squares) => {
            let sum: i32 = squares.iter().sum();
            println!(
                "50 queries of 200 ms each in {:.2} s; sum of squares {sum}",
                started.elapsed().as_secs_f64()
            );
        }
        Err(error) => {
            eprintln!("query failed: {error}");
            std::process::exit(1);
        }
    }
}
