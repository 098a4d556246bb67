//! `spawn!` and `spawn_n!`: parse `[pool,] call`, check the call, then evaluate the callee,
//! receiver and arguments at the call site before the call runs in a new green thread,
//! like Eventlet's `spawn(func, *args)`.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{AngleBracketedGenericArguments, Error, Expr, ExprClosure, Ident, Result, Token};

/// Which macro is expanding: they differ only in the runtime function they call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// `spawn!`: returns the `GreenThread`.
    Spawn,
    /// `spawn_n!`: returns nothing, like `eventlet.spawn_n`.
    SpawnN,
}

impl Flavor {
    fn name(self) -> &'static str {
        match self {
            Flavor::Spawn => "spawn",
            Flavor::SpawnN => "spawn_n",
        }
    }
}

/// The macro: its expansion, or one `compile_error!` naming what to write instead.
pub(crate) fn spawn(input: TokenStream, flavor: Flavor) -> TokenStream {
    let parser = |input: ParseStream| parse(input, flavor);
    match parser.parse2(input) {
        Ok(spawn) => expand(&spawn, flavor),
        Err(error) => error.into_compile_error(),
    }
}

/// `spawn!([pool,] task)`.
struct SpawnInput {
    pool: Option<Expr>,
    task: Task,
    /// Where the task is written: the spawn call is spanned there, so `'static` errors
    /// point at the user's call.
    span: Span,
}

/// What runs in the new green thread.
enum Task {
    /// `f(a, b)`: `f`, `a`, `b` are evaluated first.
    Call {
        callee: Expr,
        args: Punctuated<Expr, Token![,]>,
    },
    /// `recv.method(a)`: `recv`, `a` are evaluated first.
    Method {
        receiver: Expr,
        method: Ident,
        turbofish: Option<AngleBracketedGenericArguments>,
        args: Punctuated<Expr, Token![,]>,
    },
    /// `move || ...`: passed as it is.
    Closure(ExprClosure),
}

// ---- parse ---------------------------------------------------------------------------

fn parse(input: ParseStream, flavor: Flavor) -> Result<SpawnInput> {
    let name = flavor.name();
    if input.is_empty() {
        return Err(Error::new(
            Span::call_site(),
            format!(
                "`{name}!` needs a call to run in a new green thread: write `{name}!(f(a, b))`, \
             `{name}!(obj.method(a))` or `{name}!(move || ...)`"
            ),
        ));
    }
    let first: Expr = input.parse()?;
    if input.is_empty() {
        return validate(None, first, flavor);
    }
    let comma: Token![,] = input.parse().map_err(|_| {
        input.error(format!(
            "expected `,` or the end of `{name}!`: write `{name}!(f(a, b))`, or \
             `{name}!(pool, f(a, b))` to run it in a pool"
        ))
    })?;
    if input.is_empty() {
        let message = if is_task(&first) {
            format!(
                "remove the trailing `,`: `{name}!({})`",
                first.to_token_stream()
            )
        } else {
            format!("expected a call after the pool: write `{name}!(pool, f(a, b))`")
        };
        return Err(Error::new_spanned(comma, message));
    }
    let second: Expr = input.parse()?;
    // A trailing comma after the call is fine.
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    }
    if !input.is_empty() {
        let extra: TokenStream = input.parse()?;
        return Err(Error::new_spanned(
            extra,
            format!(
                "`{name}!` takes a call, optionally after a pool: `{name}!(f(a, b))` or \
                 `{name}!(pool, f(a, b))`; the call's arguments go inside its parentheses"
            ),
        ));
    }
    validate(Some(first), second, flavor)
}

/// Whether `expr` looks like what runs in the green thread rather than a pool.
fn is_task(expr: &Expr) -> bool {
    matches!(expr, Expr::Call(_) | Expr::MethodCall(_) | Expr::Closure(_))
}

// ---- validate ------------------------------------------------------------------------

fn validate(pool: Option<Expr>, task: Expr, flavor: Flavor) -> Result<SpawnInput> {
    let span = task.span();
    let task = validate_task(task, flavor)?;
    Ok(SpawnInput { pool, task, span })
}

/// The task must be a call, a method call or a closure without parameters.
fn validate_task(task: Expr, flavor: Flavor) -> Result<Task> {
    let name = flavor.name();
    match task {
        Expr::Call(call) => Ok(Task::Call {
            callee: *call.func,
            args: call.args,
        }),
        Expr::MethodCall(call) => Ok(Task::Method {
            receiver: *call.receiver,
            method: call.method,
            turbofish: call.turbofish,
            args: call.args,
        }),
        Expr::Closure(closure) if closure.asyncness.is_some() => Err(Error::new_spanned(
            closure.asyncness,
            "a green thread runs blocking-style code, not a future: drop `async` and call \
             the blocking functions directly",
        )),
        Expr::Closure(closure) if !closure.inputs.is_empty() => Err(Error::new_spanned(
            closure.inputs,
            format!(
                "a spawned closure takes no parameters: capture what it needs instead, as in \
                 `{name}!(move || work(a, b))`"
            ),
        )),
        Expr::Closure(closure) => Ok(Task::Closure(closure)),
        // From a `macro_rules!` `$e:expr`, or written in parentheses.
        Expr::Group(group) => validate_task(*group.expr, flavor),
        Expr::Paren(paren) => validate_task(*paren.expr, flavor),
        Expr::Path(path) => {
            let callee = path.to_token_stream();
            Err(Error::new_spanned(
                path,
                format!(
                    "`{name}!` runs a call, and `{callee}` is not called here: write \
                     `{name}!({callee}())`, with its arguments inside the parentheses"
                ),
            ))
        }
        other => {
            let found = match other {
                Expr::Lit(_) => "a literal",
                Expr::Block(_) => "a block",
                Expr::Macro(_) => "a macro call",
                _ => "an expression that is not a call",
            };
            Err(Error::new_spanned(
                other,
                format!(
                    "expected a call to run in a new green thread, found {found}: write \
                     `{name}!(f(a, b))`, `{name}!(obj.method(a))` or `{name}!(move || ...)`"
                ),
            ))
        }
    }
}

// ---- expand --------------------------------------------------------------------------

/// `{ let callee = f; let arg0 = a; ...; ::eventlet_rt::spawn(move || callee(arg0, ...)) }`
/// with hygienic locals, so the values are taken before the green thread exists.
fn expand(input: &SpawnInput, flavor: Flavor) -> TokenStream {
    let mut lets = Bindings::default();
    let pool = input
        .pool
        .as_ref()
        .map(|pool| lets.bind("pool", &quote!(&#pool)));
    let task = match &input.task {
        Task::Closure(closure) => closure.to_token_stream(),
        Task::Call { callee, args } => {
            let callee = lets.bind_mut("callee", callee);
            let args = lets.bind_args(args);
            quote_spanned!(input.span=> move || #callee(#(#args),*))
        }
        Task::Method {
            receiver,
            method,
            turbofish,
            args,
        } => {
            let receiver = lets.bind_mut("receiver", receiver);
            let args = lets.bind_args(args);
            quote_spanned!(input.span=> move || #receiver.#method #turbofish(#(#args),*))
        }
    };
    let spawn = match (pool, flavor) {
        (None, Flavor::Spawn) => quote_spanned!(input.span=> ::eventlet_rt::spawn(#task)),
        (None, Flavor::SpawnN) => quote_spanned!(input.span=> ::eventlet_rt::spawn_n(#task)),
        (Some(pool), Flavor::Spawn) => quote_spanned!(input.span=> #pool.spawn(#task)),
        (Some(pool), Flavor::SpawnN) => quote_spanned!(input.span=> #pool.spawn_n(#task)),
    };
    if lets.0.is_empty() {
        spawn
    } else {
        let lets = lets.0;
        quote!({ #(#lets)* #spawn })
    }
}

/// The `let` statements that evaluate the values at the call site.
#[derive(Default)]
struct Bindings(Vec<TokenStream>);

impl Bindings {
    /// `let name = value;`
    fn bind(&mut self, name: &str, value: &dyn ToTokens) -> Ident {
        let local = hygienic_local(name, value);
        self.0.push(quote!(let #local = #value;));
        local
    }

    /// `let mut name = value;`: an `FnMut` callee and a `&mut self` receiver are called
    /// through a `mut` binding. For the others that `mut` is unused, which is fine.
    fn bind_mut(&mut self, name: &str, value: &dyn ToTokens) -> Ident {
        let local = hygienic_local(name, value);
        self.0
            .push(quote!(#[allow(unused_mut)] let mut #local = #value;));
        local
    }

    /// Binds each argument to a local, except closure literals: they are moved into the
    /// green thread as they are, so their parameter types are still inferred from the callee.
    fn bind_args(&mut self, args: &Punctuated<Expr, Token![,]>) -> Vec<TokenStream> {
        args.iter()
            .enumerate()
            .map(|(index, arg)| match arg {
                Expr::Closure(closure) => closure.to_token_stream(),
                arg => self.bind(&format!("arg{index}"), arg).into_token_stream(),
            })
            .collect()
    }
}

/// A local of the expansion: hygienic, but located at the user's `value`, so that errors
/// about it point there.
fn hygienic_local(name: &str, value: &dyn ToTokens) -> Ident {
    let location = value.to_token_stream().span();
    Ident::new(name, Span::mixed_site().located_at(location))
}

#[cfg(test)]
mod tests;
