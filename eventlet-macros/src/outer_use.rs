//! The hole the rewrite cannot see into: a `use std::net::TcpStream;` written outside a
//! `#[green]` function leaves a bare `TcpStream` inside it std's, blocking the OS thread.
//!
//! A macro cannot resolve names, so for every bare name inside the function that could be
//! such a std item, it makes the compiler compare the two: a check that fails, with a
//! message naming the outer `use` and the fix, only when the name *is* std's blocking item
//! (the support items are in `eventlet_rt::__private`, which explains the mechanism). A name
//! that resolves to the green item, or to a type of the user's own that shares the name,
//! passes.
//!
//! - Types and non-generic functions (`TcpStream`, `net::TcpStream`, `thread::sleep`,
//!   `sleep`) are checked by one `const _` item at the top of the body, which sees the names
//!   of the function's module and of its body's top level. Names that the function itself
//!   declares, imports or binds (or a glob import in a nested block) could resolve
//!   differently where they are used, so they are not checked; those are inside the
//!   function, where the rewrite sees them anyway.
//! - Calls of generic std functions (`spawn(..)`, `mpsc::channel()`) are checked in place,
//!   on the type of the value they return, since a generic function's item type cannot be
//!   named without its type arguments.

use std::collections::HashSet;

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::visit::{self, Visit};
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Block, Expr, ExprPath, GenericParam, Ident, ImplItem, Item, Macro, PatIdent, Path,
    Signature, Stmt, TraitItem, TypePath, UseTree,
};

use crate::rewrite::{MacroExprs, opts_out};

/// What kind of item a std blocking item is, which decides how it is checked.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// A type with this many type parameters (checked as `Name<(), ..>`).
    Type(usize),
    /// A function without type parameters.
    Fn,
    /// A generic function, checked where it is called.
    GenericFn,
}

/// One std item that blocks the OS thread (or starts OS threads) and has a green mirror.
struct StdItem {
    /// Its path after `std::`; `eventlet_rt::__private::outer_use` has its check there.
    path: &'static [&'static str],
    kind: Kind,
    /// How many trailing segments of `path` a use must spell out to be checked: `Builder`
    /// alone names too many things, `thread::Builder` does not.
    min_written: usize,
}

const fn item(path: &'static [&'static str], kind: Kind) -> StdItem {
    StdItem {
        path,
        kind,
        min_written: 1,
    }
}

const STD_ITEMS: &[StdItem] = &[
    item(&["net", "TcpStream"], Kind::Type(0)),
    item(&["net", "TcpListener"], Kind::Type(0)),
    item(&["net", "UdpSocket"], Kind::Type(0)),
    item(&["thread", "sleep"], Kind::Fn),
    item(&["thread", "park"], Kind::Fn),
    item(&["thread", "park_timeout"], Kind::Fn),
    item(&["thread", "spawn"], Kind::GenericFn),
    item(&["thread", "JoinHandle"], Kind::Type(1)),
    StdItem {
        min_written: 2,
        ..item(&["thread", "Builder"], Kind::Type(0))
    },
    item(&["sync", "Mutex"], Kind::Type(1)),
    item(&["sync", "RwLock"], Kind::Type(1)),
    item(&["sync", "Condvar"], Kind::Type(0)),
    item(&["sync", "Barrier"], Kind::Type(0)),
    item(&["sync", "mpsc", "channel"], Kind::GenericFn),
    item(&["sync", "mpsc", "sync_channel"], Kind::GenericFn),
    item(&["sync", "mpsc", "Sender"], Kind::Type(1)),
    item(&["sync", "mpsc", "SyncSender"], Kind::Type(1)),
    item(&["sync", "mpsc", "Receiver"], Kind::Type(1)),
];

/// First segments that never reach std through an outer `use` of a bare name.
const ROOTS: &[&str] = &[
    "std",
    "core",
    "alloc",
    "crate",
    "self",
    "super",
    "Self",
    "eventlet_rt",
];

/// Where a path was written: in a type, or in an expression (where a last segment is a
/// value, and a local binding may shadow it).
#[derive(Clone, Copy, PartialEq)]
enum Place {
    Type,
    Expr,
}

/// The std item that `path` may be, and how many of its leading segments name it:
/// `net::TcpStream::connect` may be `std::net::TcpStream`, named by `net::TcpStream`.
fn std_item_of(path: &Path, place: Place) -> Option<(&'static StdItem, usize)> {
    let first = path.segments.first()?;
    if path.leading_colon.is_some() || ROOTS.iter().any(|root| first.ident == root) {
        return None;
    }
    let written: Vec<&Ident> = path.segments.iter().map(|s| &s.ident).collect();
    STD_ITEMS.iter().find_map(|item| {
        let len = (item.min_written..=item.path.len()).find(|&len| {
            len <= written.len()
                && written[..len]
                    .iter()
                    .zip(&item.path[item.path.len() - len..])
                    .all(|(w, s)| *w == s)
        })?;
        let whole = len == written.len();
        let fits = match item.kind {
            Kind::Type(_) => place == Place::Type || !whole,
            Kind::Fn | Kind::GenericFn => place == Place::Expr && whole,
        };
        fits.then_some((item, len))
    })
}

/// Adds the checks to `item` (a `#[green]` function, or every function of a `#[green]`
/// module that does not carry a `#[green]` of its own).
pub(crate) fn add_checks(item: &mut Item) {
    match item {
        Item::Fn(item_fn) => check_fn(&item_fn.sig, &mut item_fn.block),
        Item::Mod(item_mod) => {
            for item in item_mod.content.iter_mut().flat_map(|(_, items)| items) {
                check_in_mod(item);
            }
        }
        _ => {}
    }
}

fn check_in_mod(item: &mut Item) {
    match item {
        Item::Fn(item_fn) if !marked_green(&item_fn.attrs) => {
            check_fn(&item_fn.sig, &mut item_fn.block);
        }
        Item::Mod(item_mod) if !marked_green(&item_mod.attrs) => {
            for item in item_mod.content.iter_mut().flat_map(|(_, items)| items) {
                check_in_mod(item);
            }
        }
        Item::Impl(item_impl) => {
            for item in &mut item_impl.items {
                if let ImplItem::Fn(f) = item
                    && !marked_green(&f.attrs)
                {
                    check_fn(&f.sig, &mut f.block);
                }
            }
        }
        Item::Trait(item_trait) => {
            for item in &mut item_trait.items {
                if let TraitItem::Fn(f) = item
                    && let Some(block) = &mut f.default
                    && !marked_green(&f.attrs)
                {
                    check_fn(&f.sig, block);
                }
            }
        }
        _ => {}
    }
}

/// Whether `attrs` hold a `#[green]` of their own (which adds its checks when it expands)
/// or a `#[green(no_patch)]`.
fn marked_green(attrs: &[Attribute]) -> bool {
    opts_out(attrs)
        || attrs.iter().any(|attr| {
            let path = attr.path();
            path.segments.last().is_some_and(|s| s.ident == "green")
        })
}

fn check_fn(sig: &Signature, block: &mut Block) {
    let mut found = Found::default();
    found.visit_signature(sig);
    found.visit_block(block);
    CheckCalls.visit_block_mut(block);
    if let Some(check) = found.into_check() {
        block.stmts.insert(0, check);
    }
}

/// A use of a bare name that may be a std item, kept for the check.
struct Use {
    /// The leading segments that name the item, as written (spans included).
    written: Vec<Ident>,
    item: &'static StdItem,
}

/// The pass that finds the uses to check, and what the function declares itself.
#[derive(Default)]
struct Found {
    uses: Vec<Use>,
    seen: HashSet<String>,
    /// Names of items, imports and generic parameters declared inside the function.
    declared: HashSet<String>,
    /// Names bound by patterns (parameters, `let`, closures, arms).
    bound: HashSet<String>,
    /// A glob import in a nested block, which may shadow any name there.
    nested_glob: bool,
    depth: usize,
}

impl Found {
    fn note(&mut self, path: &Path, place: Place) {
        let Some((item, len)) = std_item_of(path, place) else {
            return;
        };
        if item.kind == Kind::GenericFn {
            return; // checked where it is called
        }
        let written: Vec<Ident> = path
            .segments
            .iter()
            .take(len)
            .map(|s| s.ident.clone())
            .collect();
        let key = written
            .iter()
            .map(Ident::to_string)
            .collect::<Vec<_>>()
            .join("::");
        if self.seen.insert(key) {
            self.uses.push(Use { written, item });
        }
    }

    fn declare_use_tree(&mut self, tree: &UseTree) {
        match tree {
            UseTree::Path(path) => self.declare_use_tree(&path.tree),
            UseTree::Name(name) => {
                self.declared.insert(name.ident.to_string());
            }
            UseTree::Rename(rename) => {
                self.declared.insert(rename.rename.to_string());
            }
            UseTree::Glob(_) => self.nested_glob |= self.depth > 1,
            UseTree::Group(group) => group.items.iter().for_each(|t| self.declare_use_tree(t)),
        }
    }

    /// The `const _` item that checks every use still standing, if any.
    fn into_check(self) -> Option<Stmt> {
        if self.nested_glob {
            return None;
        }
        let checks: Vec<TokenStream> = self
            .uses
            .iter()
            .filter(|u| {
                let first = u.written[0].to_string();
                let shadowed = self.declared.contains(&first)
                    || (u.written.len() == 1 && self.bound.contains(&first));
                !shadowed
            })
            .map(item_check)
            .collect();
        if checks.is_empty() {
            return None;
        }
        let span = Span::mixed_site();
        Some(syn::parse_quote_spanned!(span=>
            const _: fn() = || {
                #[allow(unused_imports)]
                use ::eventlet_rt::__private::{OtherItem as _, SameItem as _};
                #(#checks)*
            };
        ))
    }
}

/// `::eventlet_rt::__private::outer_use::net::TcpStream`, the check's trait, at `span`.
fn check_trait(item: &StdItem, span: Span) -> TokenStream {
    let segments = item.path.iter().map(|s| Ident::new(s, span));
    quote_spanned!(span=> ::eventlet_rt::__private::outer_use #(:: #segments)*)
}

/// `Name` and `::std::path::Name` as types, with `()` for each type parameter.
fn types_of(written: &[Ident], item: &StdItem, params: usize) -> (TokenStream, TokenStream) {
    let span = written[0].span();
    let std_path = item.path.iter().map(|s| Ident::new(s, span));
    let args = (params > 0).then(|| {
        let units = std::iter::repeat_n(quote!(()), params);
        quote!(<#(#units),*>)
    });
    (
        quote!(#(#written)::* #args),
        quote_spanned!(span=> ::std #(:: #std_path)* #args),
    )
}

/// One statement of the check: compares a written name with its std item.
fn item_check(found: &Use) -> TokenStream {
    let span = found.written[0].span();
    let mixed = Span::mixed_site();
    let written = &found.written;
    let probe = match found.item.kind {
        Kind::Type(params) => {
            let (user, std) = types_of(written, found.item, params);
            quote_spanned!(mixed=> (&::eventlet_rt::__private::Pair::<#user, #std>::new()).item())
        }
        _ => {
            let std_path = found.item.path.iter().map(|s| Ident::new(s, span));
            let std = quote_spanned!(span=> ::std #(:: #std_path)*);
            quote_spanned!(mixed=>
                (&::eventlet_rt::__private::pair(#(#written)::*, #std)).item()
            )
        }
    };
    let check = check_trait(found.item, span);
    quote_spanned!(span=> <_ as #check>::green(#probe);)
}

impl<'ast> Visit<'ast> for Found {
    fn visit_type_path(&mut self, node: &'ast TypePath) {
        if node.qself.is_none() {
            self.note(&node.path, Place::Type);
        }
        visit::visit_type_path(self, node);
    }

    fn visit_expr_path(&mut self, node: &'ast ExprPath) {
        if node.qself.is_none() {
            self.note(&node.path, Place::Expr);
        }
        visit::visit_expr_path(self, node);
    }

    fn visit_macro(&mut self, mac: &'ast Macro) {
        if let Some(body) = MacroExprs::parse(mac) {
            body.exprs().for_each(|expr| self.visit_expr(expr));
        }
    }

    fn visit_pat_ident(&mut self, node: &'ast PatIdent) {
        self.bound.insert(node.ident.to_string());
        visit::visit_pat_ident(self, node);
    }

    fn visit_generic_param(&mut self, node: &'ast GenericParam) {
        match node {
            GenericParam::Type(param) => {
                self.declared.insert(param.ident.to_string());
            }
            GenericParam::Const(param) => {
                self.bound.insert(param.ident.to_string());
            }
            GenericParam::Lifetime(_) => {}
        }
        visit::visit_generic_param(self, node);
    }

    fn visit_block(&mut self, node: &'ast Block) {
        self.depth += 1;
        visit::visit_block(self, node);
        self.depth -= 1;
    }

    fn visit_item(&mut self, node: &'ast Item) {
        let name = match node {
            Item::Const(i) => Some(&i.ident),
            Item::Enum(i) => Some(&i.ident),
            Item::Fn(i) => Some(&i.sig.ident),
            Item::Macro(i) => i.ident.as_ref(),
            Item::Mod(i) => Some(&i.ident),
            Item::Static(i) => Some(&i.ident),
            Item::Struct(i) => Some(&i.ident),
            Item::Trait(i) => Some(&i.ident),
            Item::Type(i) => Some(&i.ident),
            Item::Union(i) => Some(&i.ident),
            Item::Use(i) => {
                self.declare_use_tree(&i.tree);
                None
            }
            _ => None,
        };
        if let Some(name) = name {
            self.declared.insert(name.to_string());
        }
        // A nested module has a scope of its own; a nested `#[green]` fn checks itself.
        let own_scope = match node {
            Item::Mod(_) => true,
            Item::Fn(f) => marked_green(&f.attrs),
            _ => false,
        };
        if !own_scope {
            visit::visit_item(self, node);
        }
    }
}

/// The pass that checks calls of generic std functions where they are made:
/// `spawn(f)` becomes a block that hands the value back after the check.
struct CheckCalls;

impl CheckCalls {
    fn check_call(expr: &mut Expr) {
        let Expr::Call(call) = expr else { return };
        let Expr::Path(callee) = &*call.func else {
            return;
        };
        let Some((item, _)) = std_item_of(&callee.path, Place::Expr) else {
            return;
        };
        if item.kind != Kind::GenericFn || callee.qself.is_some() {
            return;
        }
        let span = callee.path.segments[0].ident.span();
        let mixed = Span::mixed_site();
        let (value, found) = (Ident::new("value", mixed), Ident::new("found", mixed));
        let check = check_trait(item, span);
        let check = quote_spanned!(span=> <_ as #check>::green(#found));
        *expr = syn::parse_quote_spanned!(mixed=> {
            #[allow(unused_imports)]
            use ::eventlet_rt::__private::ReturnedOther as _;
            // Bound first: the call's type is then known before the method is looked up.
            let #value = #call;
            let (#value, #found) = ::eventlet_rt::__private::Returned(#value).item();
            #check;
            #value
        });
    }
}

impl VisitMut for CheckCalls {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        visit_mut::visit_expr_mut(self, expr);
        CheckCalls::check_call(expr);
    }

    fn visit_item_mut(&mut self, item: &mut Item) {
        let own_scope = match item {
            Item::Mod(_) => true,
            Item::Fn(f) => marked_green(&f.attrs),
            _ => false,
        };
        if !own_scope {
            visit_mut::visit_item_mut(self, item);
        }
    }
}

#[cfg(test)]
mod tests;
