use eventlet_rt::spawn;

fn main() {
    let name = String::from("Ada");
    let greeting = spawn!(|| format!("hello {name}"));
    greeting.wait().unwrap();
}
