use proc_macro2::TokenStream;
use quote::quote;
use syn::Item;

use super::make_green;

/// The rewritten `item`, as a string to compare with an expected one.
fn green(item: TokenStream) -> String {
    let mut item: Item = syn::parse2(item).expect("test input is an item");
    make_green(&mut item);
    quote!(#item).to_string()
}

/// The callee of the first statement of `item`, a function whose body starts with a call.
fn first_callee(item: &Item) -> &syn::ExprPath {
    let Item::Fn(item_fn) = item else {
        panic!("expected a function")
    };
    let syn::Stmt::Expr(syn::Expr::Call(call), _) = &item_fn.block.stmts[0] else {
        panic!("expected a call");
    };
    let syn::Expr::Path(path) = &*call.func else {
        panic!("expected a path")
    };
    path
}

fn assert_green(input: TokenStream, expected: TokenStream) {
    let expected: Item = syn::parse2(expected).expect("expected output is an item");
    assert_eq!(green(input), quote!(#expected).to_string());
}

#[test]
fn expression_paths_with_and_without_leading_colons() {
    assert_green(
        quote!(
            fn f() {
                std::thread::sleep(d);
                ::std::thread::yield_now();
                let s = std::net::TcpStream::connect(a);
                let (tx, rx) = std::sync::mpsc::channel::<u8>();
                let m = std::sync::Mutex::new(1);
            }
        ),
        quote!(
            fn f() {
                ::eventlet_rt::green::thread::sleep(d);
                ::eventlet_rt::green::thread::yield_now();
                let s = ::eventlet_rt::green::net::TcpStream::connect(a);
                let (tx, rx) = ::eventlet_rt::green::sync::mpsc::channel::<u8>();
                let m = ::eventlet_rt::green::sync::Mutex::new(1);
            }
        ),
    );
}

#[test]
fn other_std_paths_stay() {
    let item = quote!(
        fn f() {
            std::io::stdout();
            std::thread_local!(static X: u8 = 0);
            std::network::x();
            core::net::Ipv4Addr::LOCALHOST;
            my::std::thread::sleep(d);
            std::synchronize::f();
        }
    );
    assert_eq!(green(item.clone()), item.to_string());
}

#[test]
fn types_in_signatures_bounds_and_generics() {
    assert_green(
        quote!(
            fn serve<A: std::net::ToSocketAddrs>(
                l: &std::net::TcpListener,
                a: A,
            ) -> Vec<std::thread::JoinHandle<()>>
            where
                A: Into<std::net::SocketAddr>,
            {
                let v: Option<std::net::TcpStream> = None;
            }
        ),
        quote!(
            fn serve<A: ::eventlet_rt::green::net::ToSocketAddrs>(
                l: &::eventlet_rt::green::net::TcpListener,
                a: A,
            ) -> Vec<::eventlet_rt::green::thread::JoinHandle<()>>
            where
                A: Into<::eventlet_rt::green::net::SocketAddr>,
            {
                let v: Option<::eventlet_rt::green::net::TcpStream> = None;
            }
        ),
    );
}

#[test]
fn patterns_and_struct_expressions() {
    assert_green(
        quote!(
            fn f() {
                match a {
                    std::net::SocketAddr::V4(v4) => {}
                    std::net::IpAddr::V6 { .. } => {}
                    std::net::Shutdown::Both => {}
                }
                let _ = std::net::SocketAddrV4 { ip, port };
            }
        ),
        quote!(
            fn f() {
                match a {
                    ::eventlet_rt::green::net::SocketAddr::V4(v4) => {}
                    ::eventlet_rt::green::net::IpAddr::V6 { .. } => {}
                    ::eventlet_rt::green::net::Shutdown::Both => {}
                }
                let _ = ::eventlet_rt::green::net::SocketAddrV4 { ip, port };
            }
        ),
    );
}

#[test]
fn qualified_paths_keep_their_trait_position() {
    let mut item: Item = syn::parse2(quote!(
        fn f() {
            <T as std::net::ToSocketAddrs>::to_socket_addrs(&t);
            <std::net::TcpStream>::connect(a);
        }
    ))
    .unwrap();
    make_green(&mut item);
    assert_eq!(
        quote!(#item).to_string(),
        quote!(
            fn f() {
                <T as ::eventlet_rt::green::net::ToSocketAddrs>::to_socket_addrs(&t);
                <::eventlet_rt::green::net::TcpStream>::connect(a);
            }
        )
        .to_string()
    );
    // The position counts the trait's segments: it must now be 4, or rustc would read
    // `<T as ::eventlet_rt::green::net>::ToSocketAddrs::...`.
    assert_eq!(first_callee(&item).qself.as_ref().unwrap().position, 4);
}

#[test]
fn macro_arguments_that_parse_as_expressions() {
    assert_green(
        quote!(
            fn f() {
                println!("{:?}", std::thread::current().id());
                let v = vec![std::net::Ipv4Addr::LOCALHOST; 2];
                assert!(matches!(x, std::net::Shutdown::Read), "{}", 1);
                outer!(inner!(std::thread::sleep(d)));
            }
        ),
        quote!(
            fn f() {
                println!("{:?}", ::eventlet_rt::green::thread::current().id());
                let v = vec![::eventlet_rt::green::net::Ipv4Addr::LOCALHOST; 2];
                assert!(
                    matches!(x, ::eventlet_rt::green::net::Shutdown::Read),
                    "{}",
                    1
                );
                outer!(inner!(::eventlet_rt::green::thread::sleep(d)));
            }
        ),
    );
}

#[test]
fn macro_input_that_is_not_expressions_is_left_alone() {
    let item = quote!(
        fn f() {
            macro_rules! nap {
                ($d:expr) => {
                    std::thread::sleep($d)
                };
            }
            my_dsl!(std::thread::sleep => fast);
        }
    );
    assert_eq!(green(item.clone()), item.to_string());
}

#[test]
fn use_items_inside_functions() {
    assert_green(
        quote!(
            fn f() {
                use std::net::{SocketAddr, TcpStream};
                use std::thread;
                thread::sleep(d);
            }
        ),
        quote!(
            fn f() {
                use ::eventlet_rt::green::net::{SocketAddr, TcpStream};
                use ::eventlet_rt::green::thread;
                thread::sleep(d);
            }
        ),
    );
}

// rustfmt would sort the `use` items, and the expected order is the point here.
#[rustfmt::skip]
#[test]
fn use_trees_split_so_only_green_modules_move() {
    assert_green(
        quote!(mod m {
            use std::{net, thread};
            use std::sync::{mpsc, Arc};
            use std::{io, sync::{Mutex, mpsc::channel, Arc as A}};
            pub use ::std::{io::{self, Read}, net::TcpListener as L, thread::{self as t}};
            use std::sync::mpsc;
            use std::thread as th;
            use std::io::{self};
            use std::collections::HashMap;
        }),
        quote!(mod m {
            use ::eventlet_rt::green::{net, thread};
            use ::eventlet_rt::green::sync::{mpsc, Arc};
            use std::io;
            use ::eventlet_rt::green::sync::{Mutex, mpsc::channel, Arc as A};
            pub use ::std::io::{self, Read};
            pub use ::eventlet_rt::green::{net::TcpListener as L, thread::{self as t}};
            use ::eventlet_rt::green::sync::mpsc;
            use ::eventlet_rt::green::thread as th;
            use std::io::{self};
            use std::collections::HashMap;
        }),
    );
}

#[rustfmt::skip]
#[test]
fn glob_imports_of_std_are_shadowed_by_the_mirrors() {
    assert_green(
        quote!(mod m {
            use std::*;
            use std::sync::*;
            use std::net::*;
        }),
        quote!(mod m {
            use std::*;
            #[allow(unused_imports)]
            use ::eventlet_rt::green::{net, thread, sync};
            use ::eventlet_rt::green::sync::*;
            use ::eventlet_rt::green::net::*;
        }),
    );
}

#[test]
fn nested_items_and_methods_are_rewritten() {
    assert_green(
        quote!(
            mod m {
                struct Conn(std::net::TcpStream);
                impl Conn {
                    fn nap(&self) {
                        std::thread::sleep(d)
                    }
                }
                fn outer() {
                    fn inner() -> std::thread::ThreadId {
                        std::thread::current().id()
                    }
                    let c = || std::thread::yield_now();
                }
            }
        ),
        quote!(
            mod m {
                struct Conn(::eventlet_rt::green::net::TcpStream);
                impl Conn {
                    fn nap(&self) {
                        ::eventlet_rt::green::thread::sleep(d)
                    }
                }
                fn outer() {
                    fn inner() -> ::eventlet_rt::green::thread::ThreadId {
                        ::eventlet_rt::green::thread::current().id()
                    }
                    let c = || ::eventlet_rt::green::thread::yield_now();
                }
            }
        ),
    );
}

#[test]
fn no_patch_items_inside_a_green_module_stay_on_std() {
    assert_green(
        quote!(
            mod m {
                use std::thread;
                #[green(no_patch)]
                fn blocking() {
                    std::thread::sleep(d)
                }
                #[eventlet_rt::green(no_patch)]
                mod plain {
                    use std::thread;
                }
                fn green() {
                    std::thread::sleep(d)
                }
            }
        ),
        quote!(
            mod m {
                use ::eventlet_rt::green::thread;
                #[green(no_patch)]
                fn blocking() {
                    std::thread::sleep(d)
                }
                #[eventlet_rt::green(no_patch)]
                mod plain {
                    use std::thread;
                }
                fn green() {
                    ::eventlet_rt::green::thread::sleep(d)
                }
            }
        ),
    );
}

#[test]
fn rewritten_paths_keep_the_user_spans() {
    let mut item: Item = syn::parse_str("fn f() { std::thread::sleep(d); }").unwrap();
    make_green(&mut item);
    let path = first_callee(&item);
    let columns: Vec<_> = path
        .path
        .segments
        .iter()
        .map(|segment| segment.ident.span().start().column)
        .collect();
    // `eventlet_rt` and `green` sit where `std` was; `thread` and `sleep` keep theirs.
    assert_eq!(columns, [9, 9, 14, 22]);
}
