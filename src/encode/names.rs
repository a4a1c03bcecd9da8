//! One field per name: a struct never holds two fields of the same name, which decoders
//! handle differently (the first wins in some, the last in others, an error in a few).
//!
//! Two items would be written under one name when a key repeats (the SDK keeps every
//! `add_attribute`, and a resource attribute may share a record attribute's key), or when
//! keys differ only where names are made safe (a NUL becomes `_`, an empty name is `_`). Of
//! those, only the last is written: a later attribute overrides an earlier one, and a
//! record's own attribute the resource's, since the layouts put the resource first.

use std::collections::HashMap;

use super::event::EventBuf;

/// Items compared pairwise up to this many; beyond it, a map (which allocates) is used.
const PAIRWISE: usize = 64;

/// Which items to leave out because a later item has the same written name.
pub(crate) struct Shadowed {
    /// Bit `i`: item `i` is left out (items below [`PAIRWISE`]).
    small: u64,
    /// Beyond [`PAIRWISE`] items: one flag per item.
    large: Vec<bool>,
}

impl Shadowed {
    /// Nothing left out.
    const NONE: Shadowed = Shadowed {
        small: 0,
        large: Vec::new(),
    };

    /// The items of one struct of the event in `buf`: see [`of`](Self::of). If any is left
    /// out, the event's metadata depends on its values, so its shape is not cached. While
    /// `buf` writes data only, nothing is left out: only shapes without repeated names are
    /// cached, and data written for any other is thrown away (the event is then encoded in
    /// full).
    pub(crate) fn in_event<'a>(
        buf: &mut EventBuf,
        names: impl Iterator<Item = Option<&'a str>>,
    ) -> Shadowed {
        if buf.data_only() {
            return Self::NONE;
        }
        let shadowed = Self::of(names);
        if shadowed.any() {
            buf.set_meta_varies();
        }
        shadowed
    }

    /// Looks at each item's name (`None`: the item is no field here, e.g. an `event_id`
    /// that goes elsewhere).
    pub(crate) fn of<'a>(mut names: impl Iterator<Item = Option<&'a str>>) -> Shadowed {
        let mut list: [Option<&str>; PAIRWISE] = [None; PAIRWISE];
        let mut n = 0;
        for slot in list.iter_mut() {
            match names.next() {
                Some(name) => *slot = name,
                None => break,
            }
            n += 1;
        }
        if n == PAIRWISE {
            if let Some(more) = names.next() {
                let all: Vec<Option<&str>> = list.into_iter().chain([more]).chain(names).collect();
                return Self::of_many(&all);
            }
        }
        let list = &list[..n];
        let mut small = 0u64;
        for (i, a) in list.iter().enumerate() {
            let Some(a) = a else { continue };
            if list[i + 1..].iter().flatten().any(|b| same_name(a, b)) {
                small |= 1 << i;
            }
        }
        Shadowed {
            small,
            large: Vec::new(),
        }
    }

    /// More than [`PAIRWISE`] items: where each written name occurs last, from a map.
    fn of_many(names: &[Option<&str>]) -> Shadowed {
        let mut last: HashMap<Vec<u8>, usize> = HashMap::new();
        for (i, name) in names.iter().enumerate() {
            if let Some(name) = name {
                last.insert(written(name), i);
            }
        }
        let large = names
            .iter()
            .enumerate()
            .map(|(i, name)| name.is_some_and(|name| last[&written(name)] != i))
            .collect();
        Shadowed { small: 0, large }
    }

    /// True if item `i` is left out.
    #[inline]
    pub(crate) fn skips(&self, i: usize) -> bool {
        if self.large.is_empty() {
            i < PAIRWISE && self.small & (1 << i) != 0
        } else {
            self.large.get(i).copied().unwrap_or(false)
        }
    }

    /// True if any item is left out.
    pub(crate) fn any(&self) -> bool {
        self.small != 0 || self.large.iter().any(|s| *s)
    }
}

/// The bytes a name is written as: a NUL becomes `_`, an empty name `_`.
fn written(name: &str) -> Vec<u8> {
    if name.is_empty() {
        return b"_".to_vec();
    }
    name.bytes()
        .map(|b| if b == 0 { b'_' } else { b })
        .collect()
}

/// True if `a` and `b` are written as the same name.
fn same_name(a: &str, b: &str) -> bool {
    let safe = |s: &str| !s.is_empty() && !s.as_bytes().contains(&0);
    if safe(a) && safe(b) {
        return a == b;
    }
    a.len().max(1) == b.len().max(1) && written(a) == written(b)
}

#[cfg(test)]
mod tests {
    use super::Shadowed;

    fn left_out(names: &[Option<&str>]) -> Vec<usize> {
        let s = Shadowed::of(names.iter().copied());
        (0..names.len()).filter(|&i| s.skips(i)).collect()
    }

    #[test]
    fn only_the_last_of_a_written_name_is_kept() {
        assert_eq!(left_out(&[Some("a"), Some("b"), Some("a")]), [0]);
        assert_eq!(left_out(&[Some("a"), None, Some("b")]), Vec::<usize>::new());
        // NUL and empty names are written as `_`.
        assert_eq!(
            left_out(&[Some("k\0"), Some("k_"), Some(""), Some("_")]),
            [0, 2]
        );
        assert_eq!(left_out(&[Some("x"), Some("x"), Some("x")]), [0, 1]);
    }

    #[test]
    fn many_items_give_the_same_answer_as_few() {
        for n in [10usize, 64, 65, 300] {
            let names: Vec<String> = (0..n).map(|i| format!("k{}", i % 7)).collect();
            let names: Vec<Option<&str>> = names.iter().map(|s| Some(s.as_str())).collect();
            let kept: Vec<usize> = (0..n).filter(|i| !left_out(&names).contains(i)).collect();
            // The last occurrence of each of the 7 names (or fewer when n < 7).
            let expect: Vec<usize> = (n.saturating_sub(7)..n).collect();
            assert_eq!(kept, expect, "{n}");
            assert!(Shadowed::of(names.iter().copied()).any());
        }
    }
}
