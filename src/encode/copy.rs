//! Short copies without a call. Events are mostly short pieces (keys and values of a few
//! bytes, u16 counts), and `copy_from_slice` of a length the compiler cannot see is a call to
//! `memcpy`, with its register spills, for every piece. Up to 32 bytes are copied here as two
//! overlapping words instead, as `memcpy` itself does inside.

/// Copies `src` into `dst`, as many bytes as the shorter holds.
#[inline(always)]
pub(crate) fn copy_short(dst: &mut [u8], src: &[u8]) {
    let n = src.len().min(dst.len());
    let (dst, src) = (&mut dst[..n], &src[..n]);
    match n {
        0 => {}
        1..=3 => {
            dst[0] = src[0];
            dst[n / 2] = src[n / 2];
            dst[n - 1] = src[n - 1];
        }
        4..=7 => {
            dst[..4].copy_from_slice(&src[..4]);
            dst[n - 4..].copy_from_slice(&src[n - 4..]);
        }
        8..=16 => {
            dst[..8].copy_from_slice(&src[..8]);
            dst[n - 8..].copy_from_slice(&src[n - 8..]);
        }
        17..=32 => {
            dst[..16].copy_from_slice(&src[..16]);
            dst[n - 16..].copy_from_slice(&src[n - 16..]);
        }
        _ => dst.copy_from_slice(src),
    }
}

/// Appends `bytes` (at most 65,535) to `out` after their u16 count, in native byte order. A
/// short string goes as one 16- or 32-byte store and a truncation, with no call.
#[inline(always)]
pub(crate) fn push_counted(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if n <= 14 {
        return push_piece::<16>(out, bytes);
    }
    if n <= 30 {
        return push_piece::<32>(out, bytes);
    }
    out.reserve(2 + n);
    out.extend_from_slice(&(n as u16).to_ne_bytes());
    out.extend_from_slice(bytes);
}

/// `bytes` (at most `N - 2`) with their count, as one store of `N` bytes cut back.
#[inline(always)]
fn push_piece<const N: usize>(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut piece = [0u8; N];
    piece[..2].copy_from_slice(&(bytes.len() as u16).to_ne_bytes());
    copy_short(&mut piece[2..], bytes);
    let end = out.len() + 2 + bytes.len().min(N - 2);
    out.extend_from_slice(&piece);
    out.truncate(end);
}

#[cfg(test)]
mod tests {
    use super::{copy_short, push_counted};

    #[test]
    fn every_length_is_copied_exactly() {
        let src: Vec<u8> = (1..=40).collect();
        for n in 0..=40 {
            let mut dst = vec![0u8; n];
            copy_short(&mut dst, &src[..n]);
            assert_eq!(dst, src[..n], "length {n}");
            let mut out = vec![9u8];
            push_counted(&mut out, &src[..n]);
            let mut expect = vec![9u8];
            expect.extend_from_slice(&(n as u16).to_ne_bytes());
            expect.extend_from_slice(&src[..n]);
            assert_eq!(out, expect, "counted, length {n}");
        }
        // A shorter destination takes what it holds.
        let mut dst = [0u8; 3];
        copy_short(&mut dst, &src[..10]);
        assert_eq!(dst, [1, 2, 3]);
    }
}
