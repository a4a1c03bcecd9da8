//! Shared by the `listen_*` tests: a tiny hand-written EventHeader encoder (FACTS §3), so
//! the tests check the decoder against bytes built from the spec, not from the crates that
//! the decoder ships with.
#![allow(dead_code)]

/// EventHeader flags for this machine: pointer64 (1) on 64-bit, little-endian (2) on LE,
/// extension follows (4).
pub const fn header_flags() -> u8 {
    let mut f = 4;
    if cfg!(target_pointer_width = "64") {
        f |= 1;
    }
    if cfg!(target_endian = "little") {
        f |= 2;
    }
    f
}

/// Encoding values (low 5 bits of the encoding byte).
pub const ENC_STRUCT: u8 = 1;
pub const ENC_VALUE32: u8 = 4;
pub const ENC_STRING_LEN16_CHAR8: u8 = 10;
/// Encoding byte flag: a format byte follows.
pub const ENC_FORMAT_FOLLOWS: u8 = 0x80;
/// Format 1: unsigned; 2: signed.
pub const FMT_UNSIGNED: u8 = 1;
pub const FMT_SIGNED: u8 = 2;

/// Builds one EventHeader payload (what follows the write_index): the 8-byte header, one
/// metadata extension block, then the field data.
pub struct EventBuilder {
    level: u8,
    opcode: u8,
    id: u16,
    meta: Vec<u8>,
    data: Vec<u8>,
}

impl EventBuilder {
    /// Starts an event named `name` at `level`.
    pub fn new(name: &str, level: u8) -> Self {
        let mut meta = name.as_bytes().to_vec();
        meta.push(0);
        EventBuilder {
            level,
            opcode: 0,
            id: 0,
            meta,
            data: Vec::new(),
        }
    }

    /// Sets the header's id.
    pub fn id(mut self, id: u16) -> Self {
        self.id = id;
        self
    }

    fn field_meta(&mut self, name: &str, encoding: u8, format: Option<u8>) {
        self.meta.extend_from_slice(name.as_bytes());
        self.meta.push(0);
        match format {
            Some(f) => {
                self.meta.push(encoding | ENC_FORMAT_FOLLOWS);
                self.meta.push(f);
            }
            None => self.meta.push(encoding),
        }
    }

    /// A u32 field: encoding value32 (4) with format unsigned (1), i.e. bytes 0x84 0x01.
    pub fn u32(mut self, name: &str, v: u32) -> Self {
        self.field_meta(name, ENC_VALUE32, Some(FMT_UNSIGNED));
        self.data.extend_from_slice(&v.to_ne_bytes());
        self
    }

    /// An i32 field: value32 with format signed.
    pub fn i32(mut self, name: &str, v: i32) -> Self {
        self.field_meta(name, ENC_VALUE32, Some(FMT_SIGNED));
        self.data.extend_from_slice(&v.to_ne_bytes());
        self
    }

    /// A string with a u16 length prefix (encoding 10, default format).
    pub fn str(mut self, name: &str, v: &str) -> Self {
        self.field_meta(name, ENC_STRING_LEN16_CHAR8, None);
        self.data
            .extend_from_slice(&u16::try_from(v.len()).unwrap().to_ne_bytes());
        self.data.extend_from_slice(v.as_bytes());
        self
    }

    /// Starts a struct of the next `fields` fields (encoding 1, format byte = field count).
    pub fn struct_begin(mut self, name: &str, fields: u8) -> Self {
        self.field_meta(name, ENC_STRUCT, Some(fields));
        self
    }

    /// The payload bytes.
    pub fn build(&self) -> Vec<u8> {
        let mut b = vec![header_flags(), 0];
        b.extend_from_slice(&self.id.to_ne_bytes());
        b.extend_from_slice(&0u16.to_ne_bytes()); // tag
        b.push(self.opcode);
        b.push(self.level);
        b.extend_from_slice(&u16::try_from(self.meta.len()).unwrap().to_ne_bytes());
        b.extend_from_slice(&1u16.to_ne_bytes()); // kind 1: metadata, no block follows
        b.extend_from_slice(&self.meta);
        b.extend_from_slice(&self.data);
        b
    }
}
