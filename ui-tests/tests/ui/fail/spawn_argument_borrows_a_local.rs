use eventlet_rt::spawn;

fn count(words: &[&str]) -> usize {
    words.len()
}

fn main() {
    let words = vec!["a", "b"];
    let n = spawn!(count(&words));
    n.wait().unwrap();
}
