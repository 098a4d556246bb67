//! `use` items: the green parts of a tree such as `use std::{net, sync::{mpsc, Arc}};` move to
//! a `use ::eventlet_rt::green::{...};` of their own, and the rest stays on std.

use proc_macro2::Span;
use syn::{Ident, Item, ItemUse, Token, UseGroup, UseName, UsePath, UseTree, parse_quote, token};

use super::{GREEN_MODULES, green_mirror, green_root};

/// Splits `item` into the part that still comes from std and the part that now comes from
/// `::eventlet_rt::green`; `None` when nothing in it is green.
pub(super) fn split_use(item: &ItemUse) -> Option<Vec<Item>> {
    let mut split = Split::default();
    let kept = split.tree(item.tree.clone(), &mut Vec::new());
    if split.green.is_empty() && split.shadows.is_empty() {
        return None;
    }
    let span = item.use_token.span;
    let mut items = Vec::new();
    if let Some(tree) = kept {
        items.push(Item::Use(ItemUse {
            tree,
            ..item.clone()
        }));
    }
    if !split.green.is_empty() {
        items.push(Item::Use(green_use(item, split.green, span)));
    }
    if !split.shadows.is_empty() {
        let mut shadow = green_use(item, split.shadows, span);
        // They only shadow a std glob import, so the user may never name them.
        shadow.attrs.push(parse_quote!(#[allow(unused_imports)]));
        items.push(Item::Use(shadow));
    }
    Some(items)
}

/// The green parts found in one `use` tree.
#[derive(Default)]
struct Split {
    /// Trees to import from `::eventlet_rt::green`, each starting at the mirror's name.
    green: Vec<UseTree>,
    /// Mirrors that shadow a std glob import (`use std::*;`): a name imported explicitly
    /// wins over a glob, so `thread::sleep` after `use std::*;` is green too.
    shadows: Vec<UseTree>,
}

impl Split {
    /// Takes the green parts out of `tree`, whose path so far is `prefix`, and returns
    /// what is left of it, if anything.
    fn tree(&mut self, tree: UseTree, prefix: &mut Vec<String>) -> Option<UseTree> {
        match tree {
            UseTree::Path(path) => {
                prefix.push(path.ident.to_string());
                let kept = if green_mirror(prefix).is_some() {
                    // `std::net::{...}`: the user's subtree, from `net` on, goes green whole.
                    self.green.push(UseTree::Path(path));
                    None
                } else {
                    let UsePath {
                        ident,
                        colon2_token,
                        tree,
                    } = path;
                    self.tree(*tree, prefix).map(|tree| {
                        UseTree::Path(UsePath {
                            ident,
                            colon2_token,
                            tree: Box::new(tree),
                        })
                    })
                };
                prefix.pop();
                kept
            }
            UseTree::Name(ref name) => self.leaf(tree.clone(), &name.ident, prefix),
            UseTree::Rename(ref rename) => self.leaf(tree.clone(), &rename.ident, prefix),
            UseTree::Glob(glob) => {
                self.shadow_glob(prefix, glob.star_token.span);
                Some(UseTree::Glob(glob))
            }
            UseTree::Group(group) => self.group(group, prefix),
        }
    }

    /// `std::thread` or `std::net as n`: the leaf goes green when it names a green module.
    fn leaf(&mut self, tree: UseTree, ident: &Ident, prefix: &[String]) -> Option<UseTree> {
        let mut path = prefix.to_vec();
        path.push(ident.to_string());
        if green_mirror(&path).is_some() {
            self.green.push(tree);
            None
        } else {
            Some(tree)
        }
    }

    /// `use std::*;` or `use std::sync::*;`: keeps the glob and shadows the green modules
    /// it would bring in.
    fn shadow_glob(&mut self, prefix: &[String], span: Span) {
        let Some(("std", parent)) = prefix.split_first().map(|(f, r)| (f.as_str(), r)) else {
            return;
        };
        for (module, mirror) in GREEN_MODULES {
            let module_parent = &module[..module.len() - 1];
            if module_parent.iter().eq(parent.iter()) {
                self.shadows.push(UseTree::Name(UseName {
                    ident: Ident::new(mirror, span),
                }));
            }
        }
    }

    /// `{a, b, c}`: splits each member; braces around a single survivor are dropped
    /// (except around `self`, which needs them).
    fn group(&mut self, group: UseGroup, prefix: &mut Vec<String>) -> Option<UseTree> {
        let before = group.items.len();
        let kept: Vec<UseTree> = group
            .items
            .into_iter()
            .filter_map(|tree| self.tree(tree, prefix))
            .collect();
        match <[UseTree; 1]>::try_from(kept) {
            Ok([single]) if before > 1 && !is_self(&single) => Some(single),
            Ok([single]) => Some(regroup(group.brace_token, vec![single])),
            Err(kept) if kept.is_empty() => None,
            Err(kept) => Some(regroup(group.brace_token, kept)),
        }
    }
}

fn regroup(brace_token: token::Brace, items: Vec<UseTree>) -> UseTree {
    UseTree::Group(UseGroup {
        brace_token,
        items: items.into_iter().collect(),
    })
}

fn is_self(tree: &UseTree) -> bool {
    match tree {
        UseTree::Name(name) => name.ident == "self",
        UseTree::Rename(rename) => rename.ident == "self",
        _ => false,
    }
}

/// `use ::eventlet_rt::green::{trees};` with the attributes and visibility of `template`.
fn green_use(template: &ItemUse, trees: Vec<UseTree>, span: Span) -> ItemUse {
    let tree = match <[UseTree; 1]>::try_from(trees) {
        Ok([single]) => single,
        Err(trees) => regroup(token::Brace(span), trees),
    };
    let tree = green_root(span)
        .into_iter()
        .rev()
        .fold(tree, |tree, ident| {
            UseTree::Path(UsePath {
                ident,
                colon2_token: Token![::](span),
                tree: Box::new(tree),
            })
        });
    ItemUse {
        attrs: template.attrs.clone(),
        vis: template.vis.clone(),
        use_token: template.use_token,
        leading_colon: Some(Token![::](span)),
        tree,
        semi_token: template.semi_token,
    }
}
