use proc_macro2::TokenStream;
use quote::quote;
use syn::Item;

use super::rewrite_awaits;

/// The item after the rewrite.
fn rewritten(item: TokenStream) -> String {
    let mut item: Item = syn::parse2(item).unwrap();
    rewrite_awaits(&mut item);
    quote!(#item).to_string()
}

#[test]
fn an_await_becomes_block_on() {
    let out = rewritten(quote!(
        fn f() -> u32 {
            ready(1).await
        }
    ));
    assert_eq!(
        out,
        quote!(
            fn f() -> u32 {
                ::eventlet_rt::block_on(ready(1))
            }
        )
        .to_string()
    );
}

#[test]
fn nested_awaits_and_question_marks_wait_inner_first() {
    let out = rewritten(quote!(
        fn f() -> Result<String, E> {
            let text = reqwest::get(url).await?.text().await?;
            Ok(text)
        }
    ));
    let expected = quote!(
        fn f() -> Result<String, E> {
            let text = ::eventlet_rt::block_on(::eventlet_rt::block_on(reqwest::get(url))?.text())?;
            Ok(text)
        }
    );
    assert_eq!(out, expected.to_string());
}

#[test]
fn awaits_in_closures_and_macro_arguments_are_rewritten() {
    let out = rewritten(quote!(
        fn f() {
            let lens: Vec<_> = urls.iter().map(|u| fetch(u).await.len()).collect();
            println!("{}", answer().await);
        }
    ));
    assert!(
        out.contains("map (| u | :: eventlet_rt :: block_on (fetch (u)) . len ())"),
        "{out}"
    );
    assert!(
        out.contains("println ! (\"{}\" , :: eventlet_rt :: block_on (answer ()))"),
        "{out}"
    );
}

#[test]
fn async_blocks_and_async_closures_are_left_alone() {
    let item = quote!(
        fn f() {
            let a = async { ready(1).await };
            let b = async move || ready(2).await;
        }
    );
    let unchanged: Item = syn::parse2(item.clone()).unwrap();
    assert_eq!(rewritten(item), quote!(#unchanged).to_string());
}

#[test]
fn async_fns_of_a_module_are_left_alone_and_the_others_rewritten() {
    let out = rewritten(quote!(
        mod m {
            async fn a() -> u32 {
                ready(1).await
            }
            fn b() -> u32 {
                ready(2).await
            }
            impl S {
                fn c(&self) -> u32 {
                    ready(3).await
                }
            }
        }
    ));
    assert!(out.contains("ready (1) . await"), "{out}");
    assert!(
        out.contains(":: eventlet_rt :: block_on (ready (2))"),
        "{out}"
    );
    assert!(
        out.contains(":: eventlet_rt :: block_on (ready (3))"),
        "{out}"
    );
}

#[test]
fn nested_fns_are_rewritten_and_nested_async_fns_left_alone() {
    let out = rewritten(quote!(
        fn outer() {
            fn inner() -> u32 {
                ready(1).await
            }
            async fn legal() -> u32 {
                ready(2).await
            }
        }
    ));
    assert!(
        out.contains(":: eventlet_rt :: block_on (ready (1))"),
        "{out}"
    );
    assert!(out.contains("ready (2) . await"), "{out}");
}
