//! `.await` in a `#[green]` fn waits on the future in place (`eventlet_rt::block_on`):
//! nested awaits, `?` after `.await`, awaits in closures, methods and macro arguments;
//! `async` blocks inside keep their own awaits.
#![deny(warnings)]

use std::future::{Future, ready};
use std::time::Duration;

use eventlet_rt::green;

/// A future that another green thread completes after a sleep.
fn later(value: u32) -> impl Future<Output = u32> {
    let event = eventlet_rt::Event::new();
    let sender = event.clone();
    eventlet_rt::spawn_n(move || {
        eventlet_rt::sleep(Duration::from_millis(5));
        sender.send(value);
    });
    std::future::poll_fn(move |cx| {
        if event.ready() {
            return std::task::Poll::Ready(event.wait());
        }
        let waker = cx.waker().clone();
        let event = event.clone();
        eventlet_rt::spawn_n(move || {
            event.wait();
            waker.wake();
        });
        std::task::Poll::Pending
    })
}

async fn parse(text: &str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

struct Doubler;

impl Doubler {
    #[green]
    fn double(&self, value: u32) -> u32 {
        ready(value * 2).await
    }
}

#[green]
fn total() -> Result<u32, std::num::ParseIntError> {
    let parsed = parse("20").await?;
    let nested = ready(ready(1)).await.await;
    let in_closure: Vec<u32> = [1, 2].iter().map(|n| later(*n).await).collect();
    let in_async_block = async { ready(3).await + 1 }.await;
    assert_eq!(format!("{}", later(9).await), "9");
    Ok(parsed + nested + in_closure.iter().sum::<u32>() + in_async_block + Doubler.double(2))
}

fn main() {
    assert_eq!(total(), Ok(20 + 1 + 3 + 4 + 4));
}
