//! The pattern of a `pool_imap!` comprehension becomes a closure parameter, so it must match
//! every item. The checks here catch the refutable patterns that syntax alone reveals, with
//! a message that says what to write instead; rustc still has the last word on the rest.

use syn::{Error, Pat, Path, Result};

/// Fails on the first part of `pat` that can fail to match.
pub(super) fn validate_irrefutable(pat: &Pat) -> Result<()> {
    match pat {
        Pat::Ident(ident) => match &ident.subpat {
            Some((_, subpat)) => validate_irrefutable(subpat),
            None if ident.ident == "None" => Err(refutable(pat, "the variant `None`")),
            None => Ok(()),
        },
        Pat::Tuple(tuple) => tuple.elems.iter().try_for_each(validate_irrefutable),
        Pat::Slice(slice) => slice.elems.iter().try_for_each(validate_irrefutable),
        Pat::Paren(paren) => validate_irrefutable(&paren.pat),
        Pat::Reference(reference) => validate_irrefutable(&reference.pat),
        Pat::Type(typed) => validate_irrefutable(&typed.pat),
        Pat::Struct(pat_struct) => {
            validate_not_variant(pat, &pat_struct.path)?;
            pat_struct
                .fields
                .iter()
                .try_for_each(|field| validate_irrefutable(&field.pat))
        }
        Pat::TupleStruct(tuple_struct) => {
            validate_not_variant(pat, &tuple_struct.path)?;
            tuple_struct.elems.iter().try_for_each(validate_irrefutable)
        }
        Pat::Path(path) => validate_not_variant(pat, &path.path),
        Pat::Or(or) if or.cases.len() > 1 => Err(refutable(pat, "a choice of patterns with `|`")),
        Pat::Or(or) => or.cases.iter().try_for_each(validate_irrefutable),
        Pat::Lit(_) => Err(refutable(pat, "a literal")),
        Pat::Range(_) => Err(refutable(pat, "a range")),
        Pat::Const(_) => Err(refutable(pat, "a `const` block")),
        _ => Ok(()),
    }
}

/// `Some(x)`, `Shape::Circle { r }`, `Ordering::Less`: one variant of an enum.
fn validate_not_variant(pat: &Pat, path: &Path) -> Result<()> {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let is_variant = match names.as_slice() {
        [single] => matches!(single.as_str(), "Some" | "None" | "Ok" | "Err"),
        // `Enum::Variant`, `Self::Variant`: modules are lower case, types are not.
        [.., parent, _] => parent.starts_with(char::is_uppercase),
        [] => false,
    };
    if is_variant {
        let name = names.join("::");
        Err(refutable(pat, &format!("the enum variant `{name}`")))
    } else {
        Ok(())
    }
}

fn refutable(pat: &Pat, what: &str) -> Error {
    Error::new_spanned(
        pat,
        format!(
            "this pattern can fail to match: it is {what}, but `pool_imap!` hands every item \
             to it. Use a pattern that always matches, such as `x` or `(a, b)`, and keep only \
             the items you want first, as in `... for x in items.into_iter().flatten()` or \
             `.filter_map(...)`"
        ),
    )
}
