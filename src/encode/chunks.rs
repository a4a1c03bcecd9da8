//! Splitting many fields over structs of at most 127: `PartC`, `PartC_2`, `PartC_3`, …

use super::event::{EventBuf, StructMark, MAX_STRUCT_FIELDS};

/// Opens a new struct every 127 fields, named `<prefix>`, then `<prefix>_2`, `<prefix>_3`, ….
/// Writes no struct at all when no field comes.
pub struct Chunks {
    prefix: &'static str,
    open: Option<StructMark>,
    fields: usize,
    number: usize,
}

impl Chunks {
    /// Chunks named after `prefix` (at most 16 bytes).
    pub fn new(prefix: &'static str) -> Self {
        Chunks {
            prefix,
            open: None,
            fields: 0,
            number: 0,
        }
    }

    /// Makes room for one more field, opening the next struct when needed.
    pub fn next_field(&mut self, buf: &mut EventBuf) {
        if self.open.is_none() || self.fields == MAX_STRUCT_FIELDS {
            self.close(buf);
            self.number += 1;
            let mut name = [0u8; 40];
            let name = chunk_name(&mut name, self.prefix, self.number);
            self.open = Some(buf.begin_struct(name));
        }
        self.fields += 1;
    }

    /// Closes the open struct, if any.
    pub fn close(&mut self, buf: &mut EventBuf) {
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
    let digits = number.ilog10() as usize + 1;
    let mut n = number;
    for i in (0..digits).rev() {
        out[p + 1 + i] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    std::str::from_utf8(&out[..p + 1 + digits]).unwrap_or(prefix)
}
