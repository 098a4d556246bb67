//! `#[green]`: parse the arguments, check the item it is on, then hand the item to the
//! rewrite pass.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Error, Item, ItemFn, ItemMod, Meta, Result, Signature, Token, TraitItemFn};

use crate::awaits::rewrite_awaits;
use crate::outer_use;
use crate::rewrite::make_green;

/// The whole attribute: on any error the user's item comes back unchanged with the errors,
/// every one found in the arguments and the item at once, so that one build shows them
/// all and the IDE still sees the item.
pub(crate) fn green(args: TokenStream, item: TokenStream) -> TokenStream {
    let parsed = match (parse_args(args), parse_item(item.clone())) {
        (Ok(args), Ok(green_item)) => {
            validate_combination(&args, &green_item).map(|()| (args, green_item))
        }
        (args, green_item) => Err([args.err(), green_item.err()]),
    };
    match parsed {
        Ok((args, green_item)) => expand(&args, green_item),
        Err(errors) => {
            let errors = errors.into_iter().flatten();
            let error = errors
                .reduce(|mut all, error| {
                    all.combine(error);
                    all
                })
                .expect("one of the two failed");
            // Given back, a `mod m;` would add a second error when its file does not exist.
            let mut unchanged = if is_file_module(&item) {
                TokenStream::new()
            } else {
                item
            };
            unchanged.extend(error.into_compile_error());
            unchanged
        }
    }
}

/// `first` with `second` added, for reporting several errors at once.
fn combined(first: Option<Error>, second: Error) -> Error {
    match first {
        Some(mut errors) => {
            errors.combine(second);
            errors
        }
        None => second,
    }
}

fn is_file_module(item: &TokenStream) -> bool {
    syn::parse2::<ItemMod>(item.clone()).is_ok_and(|item_mod| item_mod.content.is_none())
}

/// The arguments of `#[green(...)]`.
#[derive(Debug, Default)]
struct GreenArgs {
    /// `no_patch`: keep std's blocking calls as they are.
    no_patch: bool,
    /// `monkey_patch`: call `eventlet_rt::monkey_patch()` first (with its span).
    monkey_patch: Option<proc_macro2::Span>,
}

/// The items `#[green]` can go on.
enum GreenItem {
    Fn(Box<ItemFn>),
    Mod(ItemMod),
}

// ---- parse ---------------------------------------------------------------------------

fn parse_args(args: TokenStream) -> Result<GreenArgs> {
    let metas = Punctuated::<Meta, Token![,]>::parse_terminated
        .parse2(args)
        .map_err(|error| {
            Error::new(
                error.span(),
                "malformed `#[green]` arguments: write `#[green]`, `#[green(no_patch)]` to \
                 keep std's blocking calls as they are, or `#[green(monkey_patch)]` to call \
                 `eventlet_rt::monkey_patch()` first",
            )
        })?;
    let mut parsed = GreenArgs::default();
    let mut errors = None;
    for meta in metas {
        match validate_arg(&meta, &parsed) {
            Ok(Arg::NoPatch) => parsed.no_patch = true,
            Ok(Arg::MonkeyPatch) => parsed.monkey_patch = Some(meta.path().span()),
            Err(error) => errors = Some(combined(errors, error)),
        }
    }
    match errors {
        Some(errors) => Err(errors),
        None => Ok(parsed),
    }
}

/// The item under the attribute, checked to be one `#[green]` can make green.
fn parse_item(item: TokenStream) -> Result<GreenItem> {
    let item: Item = syn::parse2(item)?;
    validate_item(item)
}

// ---- validate ------------------------------------------------------------------------

/// The arguments `#[green]` knows.
enum Arg {
    NoPatch,
    MonkeyPatch,
}

/// `no_patch` and `monkey_patch` are the arguments; they take no value and
/// come once each.
fn validate_arg(meta: &Meta, parsed: &GreenArgs) -> Result<Arg> {
    let (arg, name, given) = if meta.path().is_ident("no_patch") {
        (Arg::NoPatch, "no_patch", parsed.no_patch)
    } else if meta.path().is_ident("monkey_patch") {
        (
            Arg::MonkeyPatch,
            "monkey_patch",
            parsed.monkey_patch.is_some(),
        )
    } else {
        let name = meta.path().to_token_stream().to_string().replace(' ', "");
        return Err(Error::new_spanned(
            meta,
            format!(
                "unknown `#[green]` argument `{name}`: the arguments are `no_patch` and \
                 `monkey_patch`; write `#[green]`, `#[green(no_patch)]` to keep std's blocking \
                 calls as they are, or `#[green(monkey_patch)]` to call \
                 `eventlet_rt::monkey_patch()` first"
            ),
        ));
    };
    if !matches!(meta, Meta::Path(_)) {
        return Err(Error::new_spanned(
            meta,
            format!("`{name}` takes no value: write `#[green({name})]`"),
        ));
    }
    if given {
        return Err(Error::new_spanned(
            meta,
            format!("`{name}` is given twice: write `#[green({name})]`"),
        ));
    }
    Ok(arg)
}

/// `monkey_patch` goes on a function: it makes the function's first statement
/// the call.
fn validate_combination(
    args: &GreenArgs,
    item: &GreenItem,
) -> std::result::Result<(), [Option<Error>; 2]> {
    match (args.monkey_patch, item) {
        (Some(span), GreenItem::Mod(_)) => Err([
            Some(Error::new(
                span,
                "`monkey_patch` goes on a function (usually `fn main`), whose first statement \
                 it makes `eventlet_rt::monkey_patch()`; on a module, call \
                 `eventlet_rt::monkey_patch()` from `main` instead",
            )),
            None,
        ]),
        _ => Ok(()),
    }
}

fn validate_item(item: Item) -> Result<GreenItem> {
    match item {
        Item::Fn(item_fn) => {
            validate_signature(&item_fn.sig)?;
            Ok(GreenItem::Fn(Box::new(item_fn)))
        }
        Item::Mod(item_mod) if item_mod.content.is_none() => Err(Error::new_spanned(
            head(&item_mod.mod_token, &item_mod.ident),
            format!(
                "`#[green]` cannot see into `mod {0};`: its file is not part of this item. \
                 Write the module inline, `#[green] mod {0} {{ ... }}`, or put `#[green]` on \
                 the functions inside its file",
                item_mod.ident
            ),
        )),
        Item::Mod(item_mod) => Ok(GreenItem::Mod(item_mod)),
        Item::Verbatim(tokens) if syn::parse2::<TraitItemFn>(tokens.clone()).is_ok() => {
            Err(Error::new_spanned(
                tokens,
                "this `fn` has no body, so there is nothing to make green: put `#[green]` on \
                 the functions that implement it",
            ))
        }
        Item::ForeignMod(foreign) => Err(Error::new_spanned(
            &foreign.abi,
            "`#[green]` cannot go on an `extern` block: foreign functions have no Rust body \
             to make green. Put `#[green]` on the Rust functions that call them",
        )),
        other => Err(Error::new_spanned(
            item_head(&other),
            format!(
                "`#[green]` goes on a `fn` or an inline `mod {{ ... }}`, not on {}: put it on \
                 the functions that block, or on an inline module around them",
                item_kind(&other)
            ),
        )),
    }
}

/// Green functions are plain blocking-style functions run by a green thread.
fn validate_signature(sig: &Signature) -> Result<()> {
    let mut errors = None;
    if let Some(asyncness) = &sig.asyncness {
        let error = Error::new_spanned(
            asyncness,
            "`#[green]` functions are blocking-style, not `async`: drop `async`. Inside a \
             `#[green]` fn, `.await` waits on the future in place \
             (`eventlet_rt::block_on`) and parks only the calling green thread",
        );
        errors = Some(combined(errors, error));
    }
    if let Some(constness) = &sig.constness {
        let error = Error::new_spanned(
            constness,
            "a `const fn` runs at compile time and never blocks, so there is nothing to make \
             green: drop `const`, or drop `#[green]`",
        );
        errors = Some(combined(errors, error));
    }
    match errors {
        Some(errors) => Err(errors),
        None => Ok(()),
    }
}

/// What a misplaced `#[green]` is on, for the message: "a struct", "an impl block"...
fn item_kind(item: &Item) -> &'static str {
    match item {
        Item::Const(_) => "a `const` item",
        Item::Enum(_) => "an enum",
        Item::ExternCrate(_) => "an `extern crate` item",
        Item::Impl(_) => "an impl block",
        Item::Macro(_) => "a macro call",
        Item::Static(_) => "a `static` item",
        Item::Struct(_) => "a struct",
        Item::Trait(_) | Item::TraitAlias(_) => "a trait",
        Item::Type(_) => "a type alias",
        Item::Union(_) => "a union",
        Item::Use(_) => "a `use` item",
        _ => "this item",
    }
}

/// The tokens that name a misplaced item (`struct Point`, `impl Trait for T`), where the
/// error points: the whole item would drown the message.
fn item_head(item: &Item) -> TokenStream {
    match item {
        Item::Enum(item) => head(&item.enum_token, &item.ident),
        Item::Struct(item) => head(&item.struct_token, &item.ident),
        Item::Union(item) => head(&item.union_token, &item.ident),
        Item::Trait(item) => head(&item.trait_token, &item.ident),
        Item::Impl(item) => head(&item.impl_token, &item.self_ty),
        Item::Const(item) => head(&item.const_token, &item.ident),
        Item::Static(item) => head(&item.static_token, &item.ident),
        Item::Type(item) => head(&item.type_token, &item.ident),
        other => other.to_token_stream(),
    }
}

fn head(keyword: &impl ToTokens, name: &impl ToTokens) -> TokenStream {
    let mut tokens = keyword.to_token_stream();
    name.to_tokens(&mut tokens);
    tokens
}

// ---- expand --------------------------------------------------------------------------

fn expand(args: &GreenArgs, item: GreenItem) -> TokenStream {
    let mut item = match item {
        GreenItem::Fn(mut item_fn) => {
            if let Some(span) = args.monkey_patch {
                let call: syn::Stmt = syn::parse_quote_spanned! {span=>
                    #[cfg(target_os = "linux")]
                    ::eventlet_rt::monkey_patch();
                };
                item_fn.block.stmts.insert(0, call);
            }
            Item::Fn(*item_fn)
        }
        GreenItem::Mod(item_mod) => Item::Mod(item_mod),
    };
    rewrite_awaits(&mut item);
    if !args.no_patch {
        make_green(&mut item);
        outer_use::add_checks(&mut item);
    }
    item.into_token_stream()
}

#[cfg(test)]
mod tests;
