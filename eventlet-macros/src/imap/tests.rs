use proc_macro2::TokenStream;
use quote::quote;

use super::pool_imap;

fn expand(input: TokenStream) -> String {
    pool_imap(input).to_string()
}

#[test]
fn map_with_a_pool() {
    assert_eq!(
        expand(quote!(pool, fetch, urls)),
        quote!(::eventlet_rt::GreenPool::imap(&pool, fetch, urls)).to_string()
    );
}

#[test]
fn map_with_the_default_pool() {
    assert_eq!(
        expand(quote!(|x| x * 2, 0..10)),
        quote!(::eventlet_rt::GreenPool::imap(
            &::eventlet_rt::GreenPool::new(1000),
            |x| x * 2,
            0..10
        ))
        .to_string()
    );
}

#[test]
fn comprehension_with_a_pool_destructures_like_starmap() {
    assert_eq!(
        expand(quote!(pool, fetch(a, b) for (a, b) in pairs)),
        quote!(::eventlet_rt::GreenPool::imap(
            &pool,
            move |(a, b)| fetch(a, b),
            pairs
        ))
        .to_string()
    );
}

#[test]
fn comprehension_with_the_default_pool_and_irrefutable_patterns() {
    for pat in [
        quote!(x),
        quote!(mut x),
        quote!(&x),
        quote!((a, (b, _), ..)),
        quote!([a, b]),
        quote!(Point { x, y }),
        quote!(geo::Point(x, y)),
        quote!(x: u32),
        quote!(all @ (a, b)),
    ] {
        assert_eq!(
            expand(quote!(f(x) for #pat in items,)),
            quote!(::eventlet_rt::GreenPool::imap(
                &::eventlet_rt::GreenPool::new(1000),
                move |#pat| f(x),
                items
            ))
            .to_string()
        );
    }
}

fn error(input: TokenStream) -> String {
    let out = expand(input);
    let errors = out.trim_start_matches("{ ");
    assert!(errors.starts_with(":: core :: compile_error !"), "{out}");
    out
}

#[test]
fn misuse_is_an_error_that_teaches() {
    let cases = [
        (quote!(), "needs a function and an iterator"),
        (quote!(pool), "needs a function and an iterator"),
        (
            quote!(pool, f(x) x in xs),
            "expected `for` before the pattern",
        ),
        (
            quote!(pool, f(x) in xs),
            "expected `for` before the pattern",
        ),
        (
            quote!(pool, f(x) for x xs),
            "expected `in` after the pattern",
        ),
        (quote!(pool, f(x) for x), "expected `in` after the pattern"),
        (
            quote!(pool, f(x) for in xs),
            "expected a pattern between `for` and `in`",
        ),
        (quote!(pool, for x in xs), "the body before `for` is empty"),
        (
            quote!(pool, f(x) for x in),
            "expected the iterator after `in`",
        ),
        (quote!(f(x) for x in xs if x > 1), "has no `if` filter"),
        (
            quote!(a, b, c, d),
            "takes a pool, then a function and an iterator",
        ),
        (
            quote!(f(x) for x in xs, ys),
            "the `for ... in ...` part must come last",
        ),
        (
            quote!(pool, f ys),
            "expected `,`, `for` or the end of `pool_imap!`",
        ),
    ];
    for (input, expected) in cases {
        let message = error(input.clone());
        assert!(message.contains(expected), "{input}: {message}");
    }
}

#[test]
fn refutable_patterns_are_rejected_with_the_way_out() {
    let cases = [
        (quote!(Some(x)), "the enum variant `Some`"),
        (quote!(None), "the variant `None`"),
        (quote!(Ok(x)), "the enum variant `Ok`"),
        (
            quote!(Shape::Circle { r }),
            "the enum variant `Shape::Circle`",
        ),
        (quote!(Ordering::Less), "the enum variant `Ordering::Less`"),
        (quote!((a, Some(b))), "the enum variant `Some`"),
        (quote!(0), "a literal"),
        (quote!(1..=9), "a range"),
        (quote!(A | B), "a choice with `|`"),
        (quote!(&(x, "a")), "a literal"),
    ];
    for (pat, expected) in cases {
        let message = error(quote!(pool, f(x) for #pat in xs));
        assert!(message.contains(expected), "{pat}: {message}");
        assert!(
            message.contains("Keep only the items you want first"),
            "{pat}: {message}"
        );
    }
}

#[test]
fn a_refutable_pattern_and_a_filter_are_both_reported() {
    let out = error(quote!(f(x) for Some(x) in items if x > 1));
    assert_eq!(out.matches("compile_error").count(), 2, "{out}");
    assert!(out.contains("no `if` filter"), "{out}");
    assert!(
        out.contains("the variant `Some`") || out.contains("Some"),
        "{out}"
    );
}
