use eventlet_rt::spawn_n;

fn parse(text: &'static str) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

fn main() {
    spawn_n!(parse("42"));
}
