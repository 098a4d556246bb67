use proc_macro2::TokenStream;
use quote::quote;

use super::{Flavor, spawn};

fn expand(input: TokenStream) -> String {
    normalize(spawn(input, Flavor::Spawn))
}

/// Printed through syn, so that `||` and `| |` compare equal.
fn normalize(tokens: TokenStream) -> String {
    let expr: syn::Expr = syn::parse2(tokens).expect("the expansion is an expression");
    quote!(#expr).to_string()
}

#[test]
fn call_evaluates_callee_and_arguments_first() {
    assert_eq!(
        expand(quote!(fetch(url, n + 1))),
        normalize(quote!({
            #[allow(unused_mut)]
            let mut callee = fetch;
            let arg0 = url;
            let arg1 = n + 1;
            ::eventlet_rt::spawn(move || callee(arg0, arg1))
        }))
    );
}

#[test]
fn method_call_evaluates_receiver_and_arguments_first() {
    assert_eq!(
        expand(quote!(server.handle::<Tcp>(conn))),
        normalize(quote!({
            #[allow(unused_mut)]
            let mut receiver = server;
            let arg0 = conn;
            ::eventlet_rt::spawn(move || receiver.handle::<Tcp>(arg0))
        }))
    );
}

#[test]
fn closure_is_passed_as_is() {
    assert_eq!(
        expand(quote!(move || work(a))),
        normalize(quote!(::eventlet_rt::spawn(move || work(a))))
    );
}

#[test]
fn closure_arguments_stay_inline_for_inference() {
    assert_eq!(
        expand(quote!(apply(xs, |x| x + 1))),
        normalize(quote!({
            #[allow(unused_mut)]
            let mut callee = apply;
            let arg0 = xs;
            ::eventlet_rt::spawn(move || callee(arg0, |x| x + 1))
        }))
    );
}

#[test]
fn pool_is_evaluated_first_and_spawns() {
    assert_eq!(
        expand(quote!(pools[0], f(a),)),
        normalize(quote!({
            let pool = &pools[0];
            #[allow(unused_mut)]
            let mut callee = f;
            let arg0 = a;
            pool.spawn(move || callee(arg0))
        }))
    );
    assert_eq!(
        normalize(spawn(quote!(pool, move || ()), Flavor::SpawnN)),
        normalize(quote!({
            let pool = &pool;
            pool.spawn_n(move || ())
        }))
    );
}

#[test]
fn spawn_n_calls_the_runtime_spawn_n() {
    assert_eq!(
        normalize(spawn(quote!(f()), Flavor::SpawnN)),
        normalize(quote!({
            #[allow(unused_mut)]
            let mut callee = f;
            ::eventlet_rt::spawn_n(move || callee())
        }))
    );
}

#[test]
fn parenthesised_and_grouped_calls_are_unwrapped() {
    assert_eq!(expand(quote!((f(a)))), expand(quote!(f(a))));
}

fn error(input: TokenStream, flavor: Flavor) -> String {
    let out = spawn(input, flavor).to_string();
    assert!(out.starts_with(":: core :: compile_error !"), "{out}");
    out
}

#[test]
fn misuse_is_an_error_that_teaches() {
    let cases = [
        (
            quote!(),
            "`spawn!` needs a call to run in a new green thread",
        ),
        (quote!(42), "found a literal: write `spawn!(f(a, b))`"),
        (quote!(f), "write `spawn!(f())`"),
        (quote!(pool,), "expected a call after the pool"),
        (quote!(f(a),), "remove the trailing `,`"),
        (
            quote!(pool, f(a), b),
            "the call's arguments go inside its parentheses",
        ),
        (quote!(|x| x), "a spawned closure takes no parameters"),
        (quote!(async || 1), "drop `async`"),
        (quote!({ f() }), "found a block"),
    ];
    for (input, expected) in cases {
        let message = error(input.clone(), Flavor::Spawn);
        assert!(message.contains(expected), "{input}: {message}");
    }
    assert!(error(quote!(), Flavor::SpawnN).contains("`spawn_n!(move || ...)`"));
}
