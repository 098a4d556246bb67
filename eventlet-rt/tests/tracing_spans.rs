//! Green threads run in `tracing` spans that are entered and exited at each
//! switch, so events land in the span of the green thread that emits them
//! even when green threads interleave; `serve` gives each connection a span.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use eventlet_rt::{Builder, GreenPool, sleep, spawn};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

#[derive(Debug, Default)]
struct SpanRecord {
    name: &'static str,
    fields: String,
    parent: Option<u64>,
    closed: bool,
}

#[derive(Default)]
struct State {
    next_id: u64,
    spans: HashMap<u64, SpanRecord>,
    /// Entered spans, innermost last (one OS thread runs all the green threads).
    stack: Vec<u64>,
    /// Each event's message and the innermost span entered when it was emitted.
    events: Vec<(String, Option<u64>)>,
}

/// A subscriber that records spans, their fields and where events land.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<State>>);

struct Fields<'a>(&'a mut String);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, "{}={:?} ", field.name(), value);
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, "{}={} ", field.name(), value);
    }
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let mut state = self.0.lock().unwrap();
        state.next_id += 1;
        let id = state.next_id;
        let mut fields = String::new();
        attrs.record(&mut Fields(&mut fields));
        let parent = match attrs.parent() {
            Some(parent) => Some(parent.into_u64()),
            None if attrs.is_contextual() => state.stack.last().copied(),
            None => None,
        };
        state.spans.insert(
            id,
            SpanRecord {
                name: attrs.metadata().name(),
                fields,
                parent,
                closed: false,
            },
        );
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        let mut state = self.0.lock().unwrap();
        let record = state.spans.get_mut(&span.into_u64()).unwrap();
        values.record(&mut Fields(&mut record.fields));
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = String::new();
        event.record(&mut Fields(&mut message));
        let mut state = self.0.lock().unwrap();
        let innermost = state.stack.last().copied();
        state.events.push((message, innermost));
    }

    fn enter(&self, span: &Id) {
        self.0.lock().unwrap().stack.push(span.into_u64());
    }

    fn exit(&self, span: &Id) {
        let mut state = self.0.lock().unwrap();
        let at = state.stack.iter().rposition(|&id| id == span.into_u64());
        let at = at.expect("exit of a span that was not entered");
        assert_eq!(at, state.stack.len() - 1, "spans exited out of order");
        state.stack.pop();
    }

    fn try_close(&self, span: Id) -> bool {
        if let Some(record) = self.0.lock().unwrap().spans.get_mut(&span.into_u64()) {
            record.closed = true;
        }
        true
    }
}

impl Recorder {
    /// The span an event with `message` was emitted in: (span name, its fields).
    fn span_of_event(&self, message: &str) -> Option<(&'static str, String)> {
        let state = self.0.lock().unwrap();
        let (_, span) = state
            .events
            .iter()
            .find(|(m, _)| m.contains(message))
            .unwrap_or_else(|| panic!("no event {message:?}"));
        span.map(|id| (state.spans[&id].name, state.spans[&id].fields.clone()))
    }

    fn span_named(&self, field: &str) -> (u64, Option<u64>, bool) {
        let state = self.0.lock().unwrap();
        let (id, record) = state
            .spans
            .iter()
            .find(|(_, r)| r.fields.contains(field))
            .unwrap_or_else(|| panic!("no span with {field}: {:?}", state.spans));
        (*id, record.parent, record.closed)
    }
}

#[test]
fn interleaved_green_threads_emit_events_in_their_own_spans() {
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), || {
        let worker = |name: &'static str| {
            Builder::new().name(name).spawn(move || {
                for round in 0..3 {
                    tracing::info!("{name} round {round}");
                    sleep(Duration::from_millis(1));
                }
            })
        };
        let (alpha, beta) = (worker("alpha"), worker("beta"));
        alpha.wait().unwrap();
        beta.wait().unwrap();
        tracing::info!("back in main");
    });
    for round in 0..3 {
        for name in ["alpha", "beta"] {
            let (span, fields) = recorder
                .span_of_event(&format!("{name} round {round}"))
                .unwrap();
            assert_eq!(span, "green_thread");
            assert!(fields.contains(&format!("name={name}")), "{fields}");
            assert!(fields.contains("tracing_spans.rs"), "{fields}");
        }
    }
    assert_eq!(recorder.span_of_event("back in main"), None);
    let (_, _, alpha_closed) = recorder.span_named("name=alpha");
    assert!(
        alpha_closed,
        "the span closes once the green thread and its handle are gone"
    );
    assert!(recorder.0.lock().unwrap().stack.is_empty());
}

#[test]
fn set_name_and_builder_span_reach_the_subscriber() {
    let recorder = Recorder::default();
    tracing::subscriber::with_default(recorder.clone(), || {
        let late = spawn(|| tracing::info!("late event"));
        late.set_name("named late");
        late.wait().unwrap();
        let request = tracing::info_span!("request", id = 17);
        Builder::new()
            .span(request)
            .spawn(|| {
                sleep(Duration::from_millis(1));
                tracing::info!("request event");
            })
            .wait()
            .unwrap();
    });
    let (span, fields) = recorder.span_of_event("late event").unwrap();
    assert_eq!(span, "green_thread");
    assert!(fields.contains("name=named late"), "{fields}");
    let (span, fields) = recorder.span_of_event("request event").unwrap();
    assert_eq!((span, fields.trim()), ("request", "id=17"));
}

#[test]
fn each_served_connection_runs_in_a_span_under_the_server() {
    let recorder = Recorder::default();
    let client_addr = tracing::subscriber::with_default(recorder.clone(), || {
        let listener = eventlet_rt::listen("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let pool = GreenPool::new(4);
        let server = Builder::new().name("server").spawn(move || {
            eventlet_rt::serve_with_pool(listener, &pool, |stream, peer| {
                tracing::info!("handling {peer}");
                let mut writer = stream.try_clone().unwrap();
                for line in BufReader::new(stream).lines() {
                    writeln!(writer, "{}", line.unwrap()).unwrap();
                }
            })
        });
        let client = eventlet_rt::connect(addr).unwrap();
        writeln!(&client, "hi").unwrap();
        let mut reply = String::new();
        BufReader::new(&client).read_line(&mut reply).unwrap();
        assert_eq!(reply, "hi\n");
        server.kill();
        client.local_addr().unwrap()
    });
    let (span, fields) = recorder.span_of_event("handling").unwrap();
    assert_eq!(span, "connection");
    assert_eq!(fields.trim(), format!("peer={client_addr}"));
    let (_, connection_parent, _) = recorder.span_named("peer=");
    let (server_span, _, _) = recorder.span_named("name=server");
    assert_eq!(connection_parent, Some(server_span));
}
