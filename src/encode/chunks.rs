//! Splitting many fields over structs of at most 127: `PartC`, `PartC_2`, `PartC_3`, …

use super::event::{EventBuf, StructMark, MAX_STRUCT_FIELDS};
use super::text::decimal;

/// Opens a new struct every 127 fields, named `<prefix>`, then `<prefix>_2`, `<prefix>_3`, ….
/// Writes no struct at all when no field comes.
pub(crate) struct Chunks {
    prefix: &'static str,
    open: Option<StructMark>,
    fields: usize,
    number: usize,
}

impl Chunks {
    /// Chunks named after `prefix` (at most 16 bytes).
    pub(crate) fn new(prefix: &'static str) -> Self {
        Chunks {
            prefix,
            open: None,
            fields: 0,
            number: 0,
        }
    }

    /// Makes room for one more field, opening the next struct when needed.
    #[inline]
    pub(crate) fn next_field(&mut self, buf: &mut EventBuf) {
        if self.open.is_none() || self.fields == MAX_STRUCT_FIELDS {
            self.open_next(buf);
        }
        self.fields += 1;
    }

    #[inline(never)]
    fn open_next(&mut self, buf: &mut EventBuf) {
        self.close(buf);
        self.number += 1;
        let mut name = [0u8; 40];
        let name = chunk_name(&mut name, self.prefix, self.number);
        self.open = Some(buf.begin_struct(name));
    }

    /// Closes the open struct, if any.
    pub(crate) fn close(&mut self, buf: &mut EventBuf) {
        if let Some(mark) = self.open.take() {
            buf.end_struct(mark, self.fields);
        }
        self.fields = 0;
    }
}

/// `<prefix>` for the first struct, `<prefix>_<n>` after it, formatted on the stack.
fn chunk_name<'a>(out: &'a mut [u8; 40], prefix: &'a str, number: usize) -> &'a str {
    if number <= 1 || prefix.len() > 16 {
        return prefix;
    }
    let p = prefix.len();
    out[..p].copy_from_slice(prefix.as_bytes());
    out[p] = b'_';
    let mut tmp = [0; 20];
    let digits = decimal(&mut tmp, number as u64, 1);
    let end = p + 1 + digits.len();
    out[p + 1..end].copy_from_slice(digits);
    std::str::from_utf8(&out[..end]).unwrap_or(prefix)
}
