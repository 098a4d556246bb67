//! The compile-time monkey patching behind `#[green]`: a `syn::visit_mut` pass that sends
//! every path into a blocking std module to its mirror in `::eventlet_rt::green`.
//!
//! Only what the marked item spells out can be seen: a `use std::net;` written outside it
//! is invisible here, which is why `#[green]` also goes on inline modules.

mod use_tree;

use proc_macro2::Span;
use quote::{ToTokens, quote};
use syn::parse::ParseStream;
use syn::punctuated::Punctuated;
use syn::visit_mut::{self, VisitMut};
use syn::{
    Attribute, Block, Expr, ExprPath, ExprStruct, Ident, ImplItemFn, Item, ItemFn, ItemMod, Macro,
    Meta, PatStruct, PatTupleStruct, Path, PathSegment, QSelf, Stmt, Token, TypePath,
};

/// The std modules that have a green mirror: their path after `std`, and the mirror's name
/// in `::eventlet_rt::green`.
const GREEN_MODULES: &[(&[&str], &str)] = &[
    (&["net"], "net"),
    (&["thread"], "thread"),
    (&["sync"], "sync"),
];

/// Makes every std blocking call of `item` green, in place.
pub(crate) fn make_green(item: &mut Item) {
    GreenRewrite::default().visit_item_mut(item);
}

/// The name of the green mirror of the std module named by `idents`, if it has one:
/// `["std", "sync"]` gives `Some("sync")`.
fn green_mirror<S: AsRef<str>>(idents: &[S]) -> Option<&'static str> {
    let (first, rest) = idents.split_first()?;
    if first.as_ref() != "std" {
        return None;
    }
    GREEN_MODULES.iter().find_map(|(module, mirror)| {
        let same =
            module.len() == rest.len() && module.iter().zip(rest).all(|(m, r)| *m == r.as_ref());
        same.then_some(*mirror)
    })
}

/// `::eventlet_rt::green`, spanned where the user wrote `std`.
fn green_root(span: Span) -> [Ident; 2] {
    [Ident::new("eventlet_rt", span), Ident::new("green", span)]
}

/// Rewrites `path` when it starts with a green std module, and then tells how many
/// segments it gained, so that the position of a `<T as Trait>::` qualifier can follow.
fn rewrite_path(path: &mut Path) -> Option<usize> {
    let prefix_len = green_prefix_len(path)?;
    let std_span = path.segments[0].ident.span();
    let old = std::mem::take(&mut path.segments);
    let old_len = old.len();
    // The mirror keeps the user's own module ident (`thread`, `net`, `mpsc`) and its span.
    let kept = old.into_pairs().skip(prefix_len - 1);
    for ident in green_root(std_span) {
        path.segments.push_value(PathSegment::from(ident));
        path.segments.push_punct(Token![::](std_span));
    }
    path.segments.extend(kept);
    path.leading_colon = Some(Token![::](std_span));
    Some(path.segments.len() - old_len)
}

/// How many leading segments of `path` name a green std module, if any.
fn green_prefix_len(path: &Path) -> Option<usize> {
    let mut idents = Vec::new();
    for segment in &path.segments {
        if !segment.arguments.is_none() {
            return None;
        }
        idents.push(segment.ident.to_string());
        if green_mirror(&idents).is_some() {
            return Some(idents.len());
        }
        if idents.len() > 3 {
            return None;
        }
    }
    None
}

/// The tokens of a macro call that parse as Rust expressions: `a, b, c` (`println!`,
/// `assert_eq!`, `vec![a, b]`) or `value; count` (`vec![0; n]`).
pub(crate) enum MacroExprs {
    List(Punctuated<Expr, Token![,]>),
    Repeat(Box<Expr>, Token![;], Box<Expr>),
}

impl MacroExprs {
    /// The expressions of `mac`, if its tokens are expressions.
    pub(crate) fn parse(mac: &Macro) -> Option<MacroExprs> {
        let comma_separated = Punctuated::<Expr, Token![,]>::parse_terminated;
        let repeat = |input: ParseStream| {
            let value: Expr = input.parse()?;
            let semi: Token![;] = input.parse()?;
            let count: Expr = input.parse()?;
            Ok((value, semi, count))
        };
        if let Ok(exprs) = mac.parse_body_with(comma_separated) {
            Some(MacroExprs::List(exprs))
        } else if let Ok((value, semi, count)) = mac.parse_body_with(repeat) {
            Some(MacroExprs::Repeat(Box::new(value), semi, Box::new(count)))
        } else {
            None
        }
    }

    pub(crate) fn exprs(&self) -> Box<dyn Iterator<Item = &Expr> + '_> {
        match self {
            MacroExprs::List(exprs) => Box::new(exprs.iter()),
            MacroExprs::Repeat(value, _, count) => Box::new([&**value, &**count].into_iter()),
        }
    }

    /// Rewrites the expressions among `mac`'s tokens with `rewrite`, which says whether it
    /// changed the one it was given. The tokens are written back only then: a call with
    /// nothing to rewrite keeps its tokens exactly as written.
    pub(crate) fn rewrite_in(mac: &mut Macro, mut rewrite: impl FnMut(&mut Expr) -> bool) {
        let Some(mut body) = MacroExprs::parse(mac) else {
            return;
        };
        let mut changed = false;
        for expr in body.exprs_mut() {
            changed |= rewrite(expr);
        }
        if changed {
            mac.tokens = body.into_token_stream();
        }
    }

    pub(crate) fn exprs_mut(&mut self) -> Box<dyn Iterator<Item = &mut Expr> + '_> {
        match self {
            MacroExprs::List(exprs) => Box::new(exprs.iter_mut()),
            MacroExprs::Repeat(value, _, count) => {
                Box::new([&mut **value, &mut **count].into_iter())
            }
        }
    }
}

impl ToTokens for MacroExprs {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        match self {
            MacroExprs::List(exprs) => exprs.to_tokens(tokens),
            MacroExprs::Repeat(value, semi, count) => {
                tokens.extend(quote!(#value #semi #count));
            }
        }
    }
}

/// Whether `attrs` hold `#[green(no_patch)]`: such an item opted out of the rewrite even
/// inside a `#[green] mod`.
pub(crate) fn opts_out(attrs: &[Attribute]) -> bool {
    attrs.iter().any(|attr| {
        let Meta::List(list) = &attr.meta else {
            return false;
        };
        let is_green = list
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "green");
        is_green
            && list
                .tokens
                .clone()
                .into_iter()
                .any(|token| token.to_string() == "no_patch")
    })
}

/// The `syn::visit_mut` pass itself.
#[derive(Default)]
struct GreenRewrite {
    /// How many paths and `use` trees were rewritten so far.
    rewrites: usize,
}

impl GreenRewrite {
    /// [`rewrite_path`], counted; gives the segments gained, if any.
    fn rewrite_counted(&mut self, path: &mut Path) -> usize {
        let gained = rewrite_path(path);
        self.rewrites += usize::from(gained.is_some());
        gained.unwrap_or(0)
    }

    /// A path that may follow a `<T as Trait>` qualifier. With `<T>::x` (position 0) the
    /// path names an associated item of `T`, never a module, so only `T` is visited.
    fn visit_qualified_path(&mut self, qself: &mut Option<QSelf>, path: &mut Path) {
        match qself {
            None => self.visit_path_mut(path),
            Some(qself) => {
                self.visit_qself_mut(qself);
                if qself.position > 0 {
                    qself.position += self.rewrite_counted(path);
                }
                visit_mut::visit_path_mut(self, path);
            }
        }
    }

    /// Rewrites the tokens of a macro call when they parse as Rust expressions
    /// (`println!`, `vec!`, `assert_eq!`, `write!`...). Tokens that do not parse, such as a
    /// `macro_rules!` body, are left exactly as written, and so are tokens with nothing to
    /// rewrite.
    fn visit_macro_tokens(&mut self, mac: &mut Macro) {
        MacroExprs::rewrite_in(mac, |expr| {
            let before = self.rewrites;
            self.visit_expr_mut(expr);
            self.rewrites != before
        });
    }

    /// Splits the `use` items among `items` so that their green parts come from
    /// `::eventlet_rt::green`.
    fn split_uses(&mut self, items: Vec<Item>) -> Vec<Item> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Use(item_use) if !opts_out(&item_use.attrs) => {
                    match use_tree::split_use(&item_use) {
                        Some(split) => {
                            self.rewrites += 1;
                            out.extend(split);
                        }
                        None => out.push(Item::Use(item_use)),
                    }
                }
                other => out.push(other),
            }
        }
        out
    }
}

impl VisitMut for GreenRewrite {
    fn visit_path_mut(&mut self, path: &mut Path) {
        self.rewrite_counted(path);
        visit_mut::visit_path_mut(self, path);
    }

    fn visit_type_path_mut(&mut self, node: &mut TypePath) {
        self.visit_qualified_path(&mut node.qself, &mut node.path);
    }

    fn visit_expr_path_mut(&mut self, node: &mut ExprPath) {
        self.visit_attributes_mut(&mut node.attrs);
        self.visit_qualified_path(&mut node.qself, &mut node.path);
    }

    fn visit_expr_struct_mut(&mut self, node: &mut ExprStruct) {
        self.visit_attributes_mut(&mut node.attrs);
        self.visit_qualified_path(&mut node.qself, &mut node.path);
        for field in &mut node.fields {
            self.visit_field_value_mut(field);
        }
        if let Some(rest) = &mut node.rest {
            self.visit_expr_mut(rest);
        }
    }

    fn visit_pat_struct_mut(&mut self, node: &mut PatStruct) {
        self.visit_attributes_mut(&mut node.attrs);
        self.visit_qualified_path(&mut node.qself, &mut node.path);
        for field in &mut node.fields {
            self.visit_field_pat_mut(field);
        }
    }

    fn visit_pat_tuple_struct_mut(&mut self, node: &mut PatTupleStruct) {
        self.visit_attributes_mut(&mut node.attrs);
        self.visit_qualified_path(&mut node.qself, &mut node.path);
        for elem in &mut node.elems {
            self.visit_pat_mut(elem);
        }
    }

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        visit_mut::visit_macro_mut(self, mac);
        self.visit_macro_tokens(mac);
    }

    fn visit_block_mut(&mut self, block: &mut Block) {
        let mut stmts = Vec::with_capacity(block.stmts.len());
        for stmt in std::mem::take(&mut block.stmts) {
            match stmt {
                Stmt::Item(item @ Item::Use(_)) => {
                    stmts.extend(self.split_uses(vec![item]).into_iter().map(Stmt::Item));
                }
                other => stmts.push(other),
            }
        }
        block.stmts = stmts;
        visit_mut::visit_block_mut(self, block);
    }

    fn visit_item_mod_mut(&mut self, node: &mut ItemMod) {
        if opts_out(&node.attrs) {
            return;
        }
        if let Some((_, items)) = &mut node.content {
            *items = self.split_uses(std::mem::take(items));
        }
        visit_mut::visit_item_mod_mut(self, node);
    }

    fn visit_item_fn_mut(&mut self, node: &mut ItemFn) {
        if !opts_out(&node.attrs) {
            visit_mut::visit_item_fn_mut(self, node);
        }
    }

    fn visit_impl_item_fn_mut(&mut self, node: &mut ImplItemFn) {
        if !opts_out(&node.attrs) {
            visit_mut::visit_impl_item_fn_mut(self, node);
        }
    }
}

#[cfg(test)]
mod tests;
