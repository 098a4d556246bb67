//! The `.await` rewrite of `#[green]`: inside the function it marks, `expr.await` becomes
//! `::eventlet_rt::block_on(expr)`, so a blocking-style function waits on a future in
//! place, parking only its green thread.
//!
//! Awaits are rewritten inner first (`a.await.b().await` waits on `a`, then on `b()`), in
//! closures too (a closure runs on the green thread that calls it), and in the arguments of
//! macros that parse as expressions. They are left alone where they are already legal: in
//! `async` blocks and `async` closures, and in `async fn`s (of a `#[green] mod`, or nested
//! in the marked function). Functions nested in the marked one are rewritten too, as the
//! `std` paths in them are.

use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ImplItemFn, Item, ItemFn, Macro, Signature};

use crate::rewrite::MacroExprs;

/// Rewrites the awaits of `item` in place.
pub(crate) fn rewrite_awaits(item: &mut Item) {
    AwaitRewrite::default().visit_item_mut(item);
}

#[derive(Default)]
struct AwaitRewrite {
    /// Inside the body of a function being rewritten.
    in_body: bool,
    /// Awaits rewritten so far (to know whether a macro's tokens changed).
    rewrites: usize,
}

impl AwaitRewrite {
    fn rewrite_fn_body(&mut self, sig: &Signature, visit: impl FnOnce(&mut Self)) {
        if sig.asyncness.is_some() {
            return; // awaits are legal there
        }
        let outer = std::mem::replace(&mut self.in_body, true);
        visit(self);
        self.in_body = outer;
    }
}

impl VisitMut for AwaitRewrite {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Async(_) => return,
            Expr::Closure(closure) if closure.asyncness.is_some() => return,
            _ => {}
        }
        visit_mut::visit_expr_mut(self, expr);
        if !self.in_body {
            return;
        }
        if let Expr::Await(awaited) = expr {
            let span = awaited.await_token.span();
            let attrs = std::mem::take(&mut awaited.attrs);
            let base = &awaited.base;
            let mut call: syn::ExprCall =
                syn::parse_quote_spanned! {span=> ::eventlet_rt::block_on(#base) };
            call.attrs = attrs;
            *expr = Expr::Call(call);
            self.rewrites += 1;
        }
    }

    fn visit_item_fn_mut(&mut self, node: &mut ItemFn) {
        let sig = node.sig.clone();
        self.rewrite_fn_body(&sig, |this| visit_mut::visit_item_fn_mut(this, node));
    }

    fn visit_impl_item_fn_mut(&mut self, node: &mut ImplItemFn) {
        let sig = node.sig.clone();
        self.rewrite_fn_body(&sig, |this| visit_mut::visit_impl_item_fn_mut(this, node));
    }

    fn visit_macro_mut(&mut self, mac: &mut Macro) {
        if !self.in_body {
            return;
        }
        MacroExprs::rewrite_in(mac, |expr| {
            let before = self.rewrites;
            self.visit_expr_mut(expr);
            self.rewrites != before
        });
    }
}

#[cfg(test)]
mod tests;
