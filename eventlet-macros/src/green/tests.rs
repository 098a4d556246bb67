use proc_macro2::TokenStream;
use quote::quote;

use super::{green, parse_args, parse_item};

fn expand_str(args: TokenStream, item: TokenStream) -> String {
    green(args, item).to_string()
}

#[test]
fn fn_body_goes_green() {
    let out = expand_str(
        quote!(),
        quote!(
            fn nap() {
                std::thread::sleep(d);
            }
        ),
    );
    assert_eq!(
        out,
        quote!(
            fn nap() {
                ::eventlet_rt::green::thread::sleep(d);
            }
        )
        .to_string()
    );
}

#[test]
fn no_patch_keeps_std() {
    let item = quote!(
        fn nap() {
            std::thread::sleep(d);
        }
    );
    assert_eq!(expand_str(quote!(no_patch), item.clone()), item.to_string());
}

#[test]
fn other_attributes_are_kept() {
    let out = expand_str(
        quote!(),
        quote!(
            #[test]
            fn t() {
                std::thread::yield_now();
            }
        ),
    );
    assert!(out.starts_with("# [test] fn t ()"), "{out}");
}

fn error_of(args: TokenStream, item: TokenStream) -> String {
    let err = parse_args(args)
        .and_then(|_| parse_item(item))
        .err()
        .expect("expected an error");
    err.to_string()
}

#[test]
fn misuse_is_an_error_that_teaches() {
    let cases = [
        (
            quote!(),
            quote!(
                async fn f() {}
            ),
            "drop `async`",
        ),
        (
            quote!(),
            quote!(
                const fn f() {}
            ),
            "drop `const`",
        ),
        (
            quote!(),
            quote!(
                struct S;
            ),
            "not on a struct",
        ),
        (
            quote!(),
            quote!(
                enum E {
                    A,
                }
            ),
            "not on an enum",
        ),
        (quote!(), quote!(impl S {}), "not on an impl block"),
        (
            quote!(),
            quote!(
                mod m;
            ),
            "Write the module inline",
        ),
        (
            quote!(),
            quote!(
                extern "C" {}
            ),
            "`extern` block",
        ),
        (
            quote!(foo),
            quote!(
                fn f() {}
            ),
            "unknown `#[green]` argument `foo`",
        ),
        (
            quote!(no_patch = true),
            quote!(
                fn f() {}
            ),
            "takes no value",
        ),
        (
            quote!(no_patch, no_patch),
            quote!(
                fn f() {}
            ),
            "given twice",
        ),
        (
            quote!("x"),
            quote!(
                fn f() {}
            ),
            "malformed `#[green]` arguments",
        ),
    ];
    for (args, item, expected) in cases {
        let message = error_of(args, item.clone());
        assert!(message.contains(expected), "{item}: {message}");
    }
}

#[test]
fn an_error_keeps_the_item_and_adds_one_compile_error() {
    let out = expand_str(
        quote!(),
        quote!(
            async fn f() {}
        ),
    );
    assert!(out.starts_with("async fn f () { }"), "{out}");
    assert_eq!(out.matches("compile_error").count(), 1, "{out}");
}

#[test]
fn every_error_of_the_arguments_and_the_item_is_reported_at_once() {
    let out = expand_str(
        quote!(foo, no_patch = true),
        quote!(
            const async fn f() {}
        ),
    );
    assert_eq!(out.matches("compile_error").count(), 4, "{out}");
    for expected in [
        "unknown `#[green]` argument `foo`",
        "takes no value",
        "drop `async`",
        "drop `const`",
    ] {
        assert!(out.contains(expected), "{expected}: {out}");
    }
}
