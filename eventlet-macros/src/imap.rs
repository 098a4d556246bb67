//! `pool_imap!`: parse a map (`f, iter`) or a comprehension (`body for pat in iter`), check
//! that the pattern always matches, then expand to `GreenPool::imap`.

mod pattern;

use proc_macro2::TokenStream;
use quote::{ToTokens, quote};
use syn::buffer::Cursor;
use syn::parse::{ParseStream, Parser};
use syn::{Error, Expr, Pat, PatType, Result, Token};

/// The size of the pool used when none is given: Eventlet's default.
const DEFAULT_POOL_SIZE: usize = 1000;

const USAGE: &str = "write `pool_imap!(pool, f, iter)` or `pool_imap!(pool, f(x) for x in iter)`; \
                     without `pool,` a pool of 1000 green threads runs them";

/// The macro: its expansion, or a `compile_error!` for each mistake naming what to write
/// instead (several in a block, which stands where an expression is expected).
pub(crate) fn pool_imap(input: TokenStream) -> TokenStream {
    match parse.parse2(input) {
        Ok(imap) => expand(&imap),
        Err(error) if (&error).into_iter().count() > 1 => {
            let errors = error.into_compile_error();
            quote::quote!({ #errors })
        }
        Err(error) => error.into_compile_error(),
    }
}

/// `pool_imap!([pool,] job)`.
struct ImapInput {
    pool: Option<Expr>,
    job: Job,
}

/// What runs for each item.
enum Job {
    /// `f, iter`: `f` is called with each item.
    Map { f: Expr, iter: Expr },
    /// `body for pat in iter`: `body` runs with each item bound to `pat`.
    Comprehension { body: Expr, for_in: ForIn },
}

/// The `for pat in iter` of a comprehension.
struct ForIn {
    pat: Box<Pat>,
    iter: Expr,
}

/// One comma-separated part of the input: an expression, maybe followed by `for pat in iter`.
struct Piece {
    expr: Expr,
    for_in: Option<ForIn>,
}

// ---- parse ---------------------------------------------------------------------------

fn parse(input: ParseStream) -> Result<ImapInput> {
    if input.is_empty() {
        return Err(Error::new(
            proc_macro2::Span::call_site(),
            format!("`pool_imap!` needs a function and an iterator: {USAGE}"),
        ));
    }
    let mut pieces = Vec::new();
    while !input.is_empty() {
        pieces.push(parse_piece(input)?);
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    let for_in = pieces.last_mut().and_then(|last| last.for_in.take());
    if let Some(early) = pieces.iter().find(|piece| piece.for_in.is_some()) {
        return Err(Error::new_spanned(
            &early.expr,
            format!("the `for ... in ...` part must come last: {USAGE}"),
        ));
    }
    let allowed = if for_in.is_some() { 2 } else { 3 };
    let mut exprs: Vec<Expr> = pieces.into_iter().map(|piece| piece.expr).collect();
    if exprs.len() > allowed {
        let extra = exprs.split_off(allowed);
        return Err(Error::new_spanned(
            quote!(#(#extra)*),
            format!("`pool_imap!` takes a pool, then a function and an iterator: {USAGE}"),
        ));
    }
    let mut exprs = exprs.into_iter();
    match (for_in, exprs.next(), exprs.next(), exprs.next()) {
        (Some(for_in), Some(body), None, _) => Ok(ImapInput {
            pool: None,
            job: Job::Comprehension { body, for_in },
        }),
        (Some(for_in), Some(pool), Some(body), _) => Ok(ImapInput {
            pool: Some(pool),
            job: Job::Comprehension { body, for_in },
        }),
        (None, Some(f), Some(iter), None) => Ok(ImapInput {
            pool: None,
            job: Job::Map { f, iter },
        }),
        (None, Some(pool), Some(f), Some(iter)) => Ok(ImapInput {
            pool: Some(pool),
            job: Job::Map { f, iter },
        }),
        (_, only, ..) => Err(Error::new_spanned(
            only.into_token_stream(),
            format!("`pool_imap!` needs a function and an iterator: {USAGE}"),
        )),
    }
}

/// One expression, or a whole `body for pat in iter`.
fn parse_piece(input: ParseStream) -> Result<Piece> {
    if input.peek(Token![for]) {
        return Err(input.error(
            "the body before `for` is empty: write what to compute for each item, as in \
             `pool_imap!(pool, fetch(url) for url in urls)`",
        ));
    }
    let expr: Expr = input.parse()?;
    if input.peek(Token![for]) {
        let for_in = parse_for_in(input)?;
        return Ok(Piece {
            expr,
            for_in: Some(for_in),
        });
    }
    if input.is_empty() || input.peek(Token![,]) {
        return Ok(Piece { expr, for_in: None });
    }
    if in_before_next_comma(input.cursor()) {
        return Err(input.error(
            "expected `for` before the pattern: write `body for pattern in iter`, as in \
             `pool_imap!(pool, f(x) for x in iter)`",
        ));
    }
    Err(input.error(format!(
        "expected `,`, `for` or the end of `pool_imap!`: {USAGE}"
    )))
}

/// `for pat in iter`, after the body.
fn parse_for_in(input: ParseStream) -> Result<ForIn> {
    let for_token: Token![for] = input.parse()?;
    if input.peek(Token![in]) {
        return Err(Error::new_spanned(
            for_token,
            "expected a pattern between `for` and `in`: write `... for x in iter`",
        ));
    }
    let mut pat = Pat::parse_multi_with_leading_vert(input)?;
    if input.peek(Token![:]) {
        // `for x: u64 in ...`: a closure parameter may carry its type.
        pat = Pat::Type(PatType {
            attrs: Vec::new(),
            pat: Box::new(pat),
            colon_token: input.parse()?,
            ty: input.parse()?,
        });
    }
    if !input.peek(Token![in]) {
        let message = "expected `in` after the pattern: write `... for x in iter`, as in \
                       `pool_imap!(pool, f(x) for x in iter)`";
        return Err(if input.is_empty() {
            Error::new_spanned(&pat, message)
        } else {
            input.error(message)
        });
    }
    let in_token: Token![in] = input.parse()?;
    if input.is_empty() || input.peek(Token![,]) {
        return Err(Error::new_spanned(
            in_token,
            "expected the iterator after `in`: write `... for x in iter`",
        ));
    }
    let iter: Expr = input.parse()?;
    // Both mistakes at once, when both are made.
    let filter = input.peek(Token![if]).then(|| {
        input.error(
            "`pool_imap!` has no `if` filter: filter the iterator first, as in \
             `pool_imap!(pool, f(x) for x in items.into_iter().filter(|x| ...))`",
        )
    });
    let errors = pattern::validate_irrefutable(&pat)
        .err()
        .into_iter()
        .chain(filter);
    if let Some(error) = errors.reduce(|mut all, error| {
        all.combine(error);
        all
    }) {
        return Err(error);
    }
    Ok(ForIn {
        pat: Box::new(pat),
        iter,
    })
}

/// Whether an `in` comes before the next top-level `,`: then the `for` was forgotten.
fn in_before_next_comma(mut cursor: Cursor) -> bool {
    while let Some((tree, next)) = cursor.token_tree() {
        match &tree {
            proc_macro2::TokenTree::Ident(ident) if ident == "in" => return true,
            proc_macro2::TokenTree::Punct(punct) if punct.as_char() == ',' => return false,
            _ => cursor = next,
        }
    }
    false
}

// ---- expand --------------------------------------------------------------------------

/// `::eventlet_rt::GreenPool::imap(&pool, f, iter)`, with `move |pat| body` as `f` for a
/// comprehension. Arguments are evaluated in the order written: pool, function, iterator.
fn expand(input: &ImapInput) -> TokenStream {
    let pool = if let Some(pool) = &input.pool {
        quote!(&#pool)
    } else {
        let size = proc_macro2::Literal::usize_unsuffixed(DEFAULT_POOL_SIZE);
        quote!(&::eventlet_rt::GreenPool::new(#size))
    };
    let (f, iter) = match &input.job {
        Job::Map { f, iter } => (f.to_token_stream(), iter),
        Job::Comprehension {
            body,
            for_in: ForIn { pat, iter },
        } => (quote!(move |#pat| #body), iter),
    };
    quote!(::eventlet_rt::GreenPool::imap(#pool, #f, #iter))
}

#[cfg(test)]
mod tests;
