//! `#[green]` on methods, generic functions and functions that borrow their arguments.
#![deny(warnings)]

use std::fmt::Display;
use std::time::Duration;

use eventlet_rt::green;

struct Greeter {
    greeting: String,
}

impl Greeter {
    #[green]
    fn greet(&self, name: &str) -> String {
        std::thread::yield_now();
        format!("{} {name}", self.greeting)
    }

    #[green]
    fn rename(&mut self, greeting: impl Into<String>) {
        std::thread::sleep(Duration::from_millis(1));
        self.greeting = greeting.into();
    }
}

#[green]
fn describe<'a, T>(items: &'a [&'a T], sep: &str) -> String
where
    T: Display + ?Sized + 'a,
{
    std::thread::sleep(Duration::from_millis(1));
    items.iter().map(ToString::to_string).collect::<Vec<_>>().join(sep)
}

fn main() {
    let mut greeter = Greeter { greeting: "hello".into() };
    assert_eq!(greeter.greet("Ada"), "hello Ada");
    greeter.rename("hi");
    assert_eq!(greeter.greet("Grace"), "hi Grace");
    assert_eq!(describe::<str>(&["a", "b"], ", "), "a, b");
    assert_eq!(describe(&[&1, &2], "+"), "1+2");
}
