use proc_macro2::TokenStream;
use quote::quote;
use syn::Item;

use super::add_checks;

/// `item` with its checks, printed.
fn checked(item: TokenStream) -> String {
    let mut item: Item = syn::parse2(item).expect("test input is an item");
    add_checks(&mut item);
    quote!(#item).to_string()
}

/// The std items that `item` gets checks for, as their check traits' paths after
/// `outer_use ::`, in order of appearance.
fn checks_of(item: TokenStream) -> Vec<String> {
    let out = checked(item);
    out.split("outer_use :: ")
        .skip(1)
        .map(|rest| rest.split(" >").next().unwrap().replace(' ', ""))
        .collect()
}

#[test]
fn bare_names_of_std_items_are_checked_in_the_signature_and_body() {
    let checks = checks_of(quote!(
        fn f(input: Receiver<u8>) -> TcpStream {
            sleep(d);
            thread::sleep(d);
            let l = net::TcpListener::bind(a);
            let s: UdpSocket = make();
            TcpStream::connect(a)
        }
    ));
    assert_eq!(
        checks,
        [
            "sync::mpsc::Receiver",
            "net::TcpStream",
            "thread::sleep",
            "thread::sleep",
            "net::TcpListener",
            "net::UdpSocket",
        ]
    );
}

#[test]
fn each_written_name_is_checked_once() {
    let checks = checks_of(quote!(
        fn f() {
            TcpStream::connect(a);
            TcpStream::connect(b);
            let s: TcpStream = x;
        }
    ));
    assert_eq!(checks, ["net::TcpStream"]);
}

#[test]
fn paths_from_a_root_are_not_checked() {
    let checks = checks_of(quote!(
        fn f() {
            ::eventlet_rt::green::thread::sleep(d);
            std::thread::sleep(d);
            crate::TcpStream::connect(a);
            self::sleep(d);
            super::Mutex::new(1);
            eventlet_rt::green::net::TcpStream::connect(a);
        }
    ));
    assert_eq!(checks, Vec::<String>::new());
}

#[test]
fn names_declared_or_bound_inside_the_function_are_not_checked() {
    let checks = checks_of(quote!(
        fn f<Receiver>(sleep: u8, r: Receiver) {
            {
                use std::net::TcpStream;
                struct UdpSocket;
                TcpStream::connect(a);
                UdpSocket;
            }
            sleep(1);
            let s: UdpSocket = x;
        }
    ));
    assert_eq!(checks, Vec::<String>::new());
}

#[test]
fn a_local_binding_shadows_a_function_not_a_type_or_module_path() {
    let checks = checks_of(quote!(
        fn f() {
            let sleep = |ms| ms;
            sleep(1);
            thread::sleep(d);
        }
    ));
    assert_eq!(checks, ["thread::sleep"]);
}

#[test]
fn a_glob_import_in_a_nested_block_turns_the_name_checks_off() {
    let checks = checks_of(quote!(
        fn f() {
            TcpStream::connect(a);
            {
                use somewhere::*;
            }
        }
    ));
    assert_eq!(checks, Vec::<String>::new());
}

#[test]
fn common_names_need_their_module() {
    let checks = checks_of(quote!(
        fn f() {
            let a = Builder::new();
            let b = thread::Builder::new();
        }
    ));
    assert_eq!(checks, ["thread::Builder"]);
}

#[test]
fn calls_of_generic_std_functions_are_checked_where_they_are_made() {
    let out = checked(quote!(
        fn f() {
            let w = spawn(|| 1);
            let (tx, rx) = mpsc::channel();
            let t = tokio::spawn(fut);
        }
    ));
    assert_eq!(
        out.matches("__private :: Returned (value)").count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("outer_use :: thread :: spawn > :: green (found)"),
        "{out}"
    );
    assert!(
        out.contains("outer_use :: sync :: mpsc :: channel > :: green (found)"),
        "{out}"
    );
    assert!(out.contains("let t = tokio :: spawn (fut) ;"), "{out}");
    assert!(!out.contains("const _"), "no item check for calls: {out}");
}

#[test]
fn generic_types_are_checked_with_unit_arguments() {
    let out = checked(quote!(
        fn f(s: Sender<String>) {}
    ));
    assert!(
        out.contains("Pair :: < Sender < () > , :: std :: sync :: mpsc :: Sender < () > >"),
        "{out}"
    );
}

#[test]
fn every_function_of_a_module_is_checked_except_those_with_their_own_attribute() {
    let checks = checks_of(quote!(
        mod m {
            use super::*;
            fn a() {
                sleep(d);
            }
            impl S {
                fn b(&self) -> TcpStream {
                    x
                }
            }
            trait T {
                fn c() {
                    UdpSocket::bind(a);
                }
            }
            #[green(no_patch)]
            fn d() {
                park();
            }
            #[eventlet_rt::green]
            fn e() {
                park();
            }
            mod inner {
                fn g() -> TcpListener {
                    x
                }
            }
        }
    ));
    assert_eq!(
        checks,
        [
            "thread::sleep",
            "net::TcpStream",
            "net::UdpSocket",
            "net::TcpListener"
        ]
    );
}

#[test]
fn names_in_macro_arguments_are_checked() {
    let checks = checks_of(quote!(
        fn f() {
            println!("{:?}", TcpStream::connect(a));
        }
    ));
    assert_eq!(checks, ["net::TcpStream"]);
}
