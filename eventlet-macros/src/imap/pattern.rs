//! The pattern of a `pool_imap!` comprehension becomes a closure parameter, so it must match
//! every item. The checks here catch the refutable patterns that syntax alone reveals, with
//! a message that says what to write instead; rustc still has the last word on the rest.

use syn::{Error, Pat, Path, Result};

/// Fails on the first part of `pat` that can fail to match.
pub(super) fn validate_irrefutable(pat: &Pat) -> Result<()> {
    match pat {
        Pat::Ident(ident) => match &ident.subpat {
            Some((_, subpat)) => validate_irrefutable(subpat),
            None if ident.ident == "None" => Err(refutable(pat, "the variant `None`", FILTER)),
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
        Pat::Or(or) if or.cases.len() > 1 => Err(refutable(pat, "a choice with `|`", FILTER)),
        Pat::Or(or) => or.cases.iter().try_for_each(validate_irrefutable),
        Pat::Lit(_) => Err(refutable(pat, "a literal", FILTER)),
        Pat::Range(_) => Err(refutable(pat, "a range", FILTER)),
        Pat::Const(_) => Err(refutable(pat, "a `const` block", FILTER)),
        _ => Ok(()),
    }
}

/// Ways to keep only the matching items, for the message.
const FILTER: &str = ".filter(...)";
const FLATTEN: &str = ".flatten()";
const FILTER_MAP: &str = ".filter_map(...)";

/// `Some(x)`, `Shape::Circle { r }`, `Ordering::Less`: one variant of an enum.
fn validate_not_variant(pat: &Pat, path: &Path) -> Result<()> {
    let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
    let keep = match names.as_slice() {
        [single] if single == "Some" || single == "Ok" => FLATTEN,
        [single] if single == "None" || single == "Err" => FILTER,
        // `Enum::Variant`, `Self::Variant`: modules are lower case, types are not.
        [.., parent, _] if parent.starts_with(char::is_uppercase) => FILTER_MAP,
        _ => return Ok(()),
    };
    let what = format!("the enum variant `{}`", names.join("::"));
    Err(refutable(pat, &what, keep))
}

fn refutable(pat: &Pat, what: &str, keep: &str) -> Error {
    Error::new_spanned(
        pat,
        format!(
            "this pattern can fail to match ({what}), but `pool_imap!` hands every item to \
             it. Keep only the items you want first, as in `... for x in \
             items.into_iter(){keep}`, then bind them with a pattern that always matches, such \
             as `x` or `(a, b)`"
        ),
    )
}
