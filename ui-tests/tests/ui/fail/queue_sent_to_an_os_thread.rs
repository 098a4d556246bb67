//! Green handles belong to the hub of their OS thread: a `Queue` cannot move to another.
use eventlet_rt::Queue;

fn main() {
    let queue: Queue<u32> = Queue::new();
    std::thread::spawn(move || queue.put(1)).join().unwrap();
}
