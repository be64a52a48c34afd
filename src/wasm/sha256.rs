//! SHA-256 for the npm package's HMACs: RustCrypto's `digest` buffering and padding and
//! `hmac` around a hand-written compression function, for speed in WebAssembly engines.
//!
//! Measured reason (issue 14, the ≥ 64 KiB target): in Node 20 (V8), over 1,024 blocks,
//! CPU time, the same machine and run:
//! - sha2 0.11.1's simd128 `compress256`: ~400 MB/s. V8 compiles its 12-iteration round
//!   loop with the message schedule kept in linear memory and the state spilled at every
//!   back edge;
//! - this function: ~500 MB/s (+25 %). It is sha2's simd128 message schedule (four words
//!   per step, `W + K` added in SIMD; `next4` below is sha2's `sha256_update_x`), with the
//!   64 rounds unrolled so the eight state words stay in locals, `Maj` written as
//!   `b ^ ((a ^ b) & (b ^ c))` (`b ^ c` is the previous round's `a ^ b`), and each `W + K`
//!   vector stored to a static 64-byte area and read back word by word (V8 turns lane
//!   extracts into `vpextrd`, slower than plain loads here: ~485 MB/s without it);
//! - tried and slower: the state rotations nested (`ror2(a ^ ror11(a ^ ror9(a)))`, fewer
//!   register copies but a longer dependency chain, ~450 MB/s), the scratch area on the
//!   stack (~445 MB/s), a scalar message schedule (~340 MB/s).
//!
//! Only this module computes differently from the native build; it is checked against
//! sha2 (every length 0..=300, 64 KiB, split updates, HMAC) in the tests below, which run
//! under wasm-bindgen-test with simd128 as the package is built, and the package against
//! node:crypto by `perf/diff-packages.mjs` and the npm package tests.

use core::arch::wasm32::{
    i8x16_shuffle, u32x4, u32x4_add, u32x4_shl, u32x4_shr, u32x4_shuffle, u64x2, u64x2_shr, v128,
    v128_load, v128_store, v128_xor,
};
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

use sha2::digest::{
    self,
    array::Array,
    block_api::{
        Block, BlockSizeUser, Buffer, BufferKindUser, Eager, FixedOutputCore, OutputSizeUser,
        UpdateCore,
    },
    typenum::{U32, U64},
    HashMarker, Output,
};

/// The round constants (FIPS 180-4, 4.2.2).
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// The initial hash value (FIPS 180-4, 5.3.3).
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// Where each group of four `W + K` words goes through memory (see the module docs).
struct Scratch(UnsafeCell<[u32; 16]>);

// SAFETY: this module is compiled only without the `atomics` target feature (src/wasm.rs),
// so the wasm32 module runs on one thread; `compress` does not re-enter.
unsafe impl Sync for Scratch {}

static SCRATCH: Scratch = Scratch(UnsafeCell::new([0; 16]));

/// `K[i..i + 4]` as a vector.
#[inline(always)]
fn k4(i: usize) -> v128 {
    u32x4(K[i], K[i + 1], K[i + 2], K[i + 3])
}

/// `W[16..20]` from `W[0..16]` held as `x0..x3`: sha2 0.11.1's `sha256_update_x`
/// (src/sha256/wasm32_simd128.rs), unchanged but for the names.
#[inline(always)]
fn next4(x0: v128, x1: v128, x2: v128, x3: v128) -> v128 {
    const ZERO: v128 = u64x2(0, 0);
    let mut x = x0;
    let mut t0 = u32x4_shuffle::<1, 2, 3, 4>(x0, x1);
    let mut t3 = u32x4_shuffle::<1, 2, 3, 4>(x2, x3);
    let mut t2 = u32x4_shr(t0, 7);
    x = u32x4_add(x, t3);
    t3 = u32x4_shr(t0, 3);
    let mut t1 = u32x4_shl(t0, 32 - 18);
    t0 = v128_xor(t3, t2);
    t3 = u32x4_shuffle::<2, 2, 3, 3>(x3, x3);
    t2 = u32x4_shr(t2, 18 - 7);
    t0 = v128_xor(t0, t1);
    t0 = v128_xor(t0, t2);
    t1 = u32x4_shl(t1, 18 - 7);
    t2 = u32x4_shr(t3, 10);
    t3 = u64x2_shr(t3, 17);
    t1 = v128_xor(t0, t1);
    x = u32x4_add(x, t1);
    t2 = v128_xor(t2, t3);
    t3 = u64x2_shr(t3, 19 - 17);
    t2 = v128_xor(t2, t3);
    t2 = u32x4_shuffle::<0, 2, 7, 7>(t2, ZERO);
    x = u32x4_add(x, t2);
    t3 = u32x4_shuffle::<0, 0, 1, 1>(x, x);
    t2 = u32x4_shr(t3, 10);
    t3 = u64x2_shr(t3, 17);
    t2 = v128_xor(t2, t3);
    t3 = u64x2_shr(t3, 19 - 17);
    t2 = v128_xor(t2, t3);
    t2 = u32x4_shuffle::<7, 7, 0, 2>(t2, ZERO);
    u32x4_add(x, t2)
}

/// Four big-endian words of `block` from byte `at`.
#[inline(always)]
fn load_be(block: &[u8; 64], at: usize) -> v128 {
    debug_assert!(at + 16 <= 64);
    // SAFETY: `at + 16 <= 64` at every call (0, 16, 32, 48); v128_load takes any alignment.
    let v = unsafe { v128_load(block.as_ptr().add(at).cast()) };
    i8x16_shuffle::<3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12>(v, v)
}

/// The SHA-256 compression function over `blocks` (FIPS 180-4, 6.2.2).
#[inline(never)]
fn compress(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    let wk = SCRATCH.0.get().cast::<u32>();
    let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = *state;
    for block in blocks {
        let mut x0 = load_be(block, 0);
        let mut x1 = load_be(block, 16);
        let mut x2 = load_be(block, 32);
        let mut x3 = load_be(block, 48);
        let (a0, b0, c0, d0, e0, f0, g0, h0) = (a, b, c, d, e, f, g, h);
        macro_rules! round {
            ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $at:expr) => {{
                // SAFETY: `$at < 16` (the scratch area's length); the word was written by
                // `four!` just before. Volatile: keep the load (see the module docs).
                let w = unsafe { wk.add($at).read_volatile() };
                let t1 = $h
                    .wrapping_add(w)
                    .wrapping_add($g ^ ($e & ($f ^ $g)))
                    .wrapping_add($e.rotate_right(6) ^ $e.rotate_right(11) ^ $e.rotate_right(25));
                $d = $d.wrapping_add(t1);
                let s0 = $a.rotate_right(2) ^ $a.rotate_right(13) ^ $a.rotate_right(22);
                $h = t1.wrapping_add(s0.wrapping_add($b ^ (($a ^ $b) & ($b ^ $c))));
            }};
        }
        macro_rules! four {
            ($x:ident, $k:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {{
                let at = $k & 15;
                // SAFETY: `at + 4 <= 16`: four words inside the scratch area.
                unsafe { v128_store(wk.add(at).cast(), u32x4_add($x, k4($k))) };
                round!($a, $b, $c, $d, $e, $f, $g, $h, at);
                round!($h, $a, $b, $c, $d, $e, $f, $g, at + 1);
                round!($g, $h, $a, $b, $c, $d, $e, $f, at + 2);
                round!($f, $g, $h, $a, $b, $c, $d, $e, at + 3);
            }};
        }
        macro_rules! sixteen {
            ($k:expr, $schedule:expr) => {{
                four!(x0, $k, a, b, c, d, e, f, g, h);
                if $schedule {
                    x0 = next4(x0, x1, x2, x3);
                }
                four!(x1, $k + 4, e, f, g, h, a, b, c, d);
                if $schedule {
                    x1 = next4(x1, x2, x3, x0);
                }
                four!(x2, $k + 8, a, b, c, d, e, f, g, h);
                if $schedule {
                    x2 = next4(x2, x3, x0, x1);
                }
                four!(x3, $k + 12, e, f, g, h, a, b, c, d);
                if $schedule {
                    x3 = next4(x3, x0, x1, x2);
                }
            }};
        }
        sixteen!(0, true);
        sixteen!(16, true);
        sixteen!(32, true);
        sixteen!(48, false);
        // Written out: at opt-level "s" a loop here stays a loop over memory (~12 % slower).
        a = a.wrapping_add(a0);
        b = b.wrapping_add(b0);
        c = c.wrapping_add(c0);
        d = d.wrapping_add(d0);
        e = e.wrapping_add(e0);
        f = f.wrapping_add(f0);
        g = g.wrapping_add(g0);
        h = h.wrapping_add(h0);
    }
    *state = [a, b, c, d, e, f, g, h];
}

/// Whether [`Core`] runs sha2's compression instead of [`compress`]: set by the JavaScript
/// entry under JavaScriptCore (Bun, Safari) through `fw_sha256_sha2`. There the unrolled
/// function is the slower one (Bun 1.4.4, same run as the module docs' numbers: sha2's
/// ~350 MB/s, this one ~230 MB/s: JavaScriptCore's OMG tier compiles it, to slower code than
/// sha2's 12-iteration loop); V8 (Node, Deno, Chromium, workerd) is the other way round.
/// Both compute SHA-256; the tests below check both against each other.
static SHA2_COMPRESS: AtomicBool = AtomicBool::new(false);

/// Selects sha2's compression (`true`) or the unrolled one (`false`, the default).
pub(crate) fn use_sha2_compress(on: bool) {
    SHA2_COMPRESS.store(on, Ordering::Relaxed);
}

/// The compression function [`Core`] runs: sha2's under JavaScriptCore (see
/// [`SHA2_COMPRESS`]) and for fewer than 8 blocks, where the unrolled function's entry
/// cost (its 16 constant vectors) is not paid back (V8, `fw_verify` of a 256-byte body:
/// 1,330 ns with the unrolled function for every call, 1,263 ns with this threshold,
/// 1,237 ns with sha2's only; at 64 KiB 502 / 503 / 404 MB/s).
#[inline]
fn compress_blocks(state: &mut [u32; 8], blocks: &[[u8; 64]]) {
    if blocks.len() < 8 || SHA2_COMPRESS.load(Ordering::Relaxed) {
        sha2::block_api::compress256(state, blocks);
    } else {
        compress(state, blocks);
    }
}

/// Block-level SHA-256 for [`Sha256`] (what sha2's `Sha256VarCore` is for `sha2::Sha256`).
#[derive(Clone)]
pub(crate) struct Core {
    state: [u32; 8],
    blocks: u64,
}

impl Default for Core {
    fn default() -> Self {
        Self {
            state: H0,
            blocks: 0,
        }
    }
}

impl HashMarker for Core {}

impl BlockSizeUser for Core {
    type BlockSize = U64;
}

impl BufferKindUser for Core {
    type BufferKind = Eager;
}

impl OutputSizeUser for Core {
    type OutputSize = U32;
}

impl UpdateCore for Core {
    #[inline]
    fn update_blocks(&mut self, blocks: &[Block<Self>]) {
        self.blocks = self.blocks.wrapping_add(blocks.len() as u64);
        compress_blocks(&mut self.state, Array::cast_slice_to_core(blocks));
    }
}

impl FixedOutputCore for Core {
    #[inline]
    fn finalize_fixed_core(&mut self, buffer: &mut Buffer<Self>, out: &mut Output<Self>) {
        let bits = (buffer.get_pos() as u64)
            .wrapping_add(self.blocks.wrapping_mul(64))
            .wrapping_mul(8);
        let state = &mut self.state;
        buffer.len64_padding_be(bits, |block| {
            compress_blocks(state, core::slice::from_ref(&block.0))
        });
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
    }
}

digest::buffer_fixed!(
    /// SHA-256 with the compression function above, for `hmac::Hmac`.
    pub(crate) struct Sha256(Core);
    impl: BaseFixedTraits Default Clone HashMarker;
);

#[cfg(test)]
mod tests {
    use hmac::{Hmac, KeyInit, Mac};
    use sha2::Digest;

    use super::{use_sha2_compress, Sha256};

    /// Deterministic bytes (a linear congruential sequence), different for each `seed`.
    fn bytes(len: usize, seed: u32) -> Vec<u8> {
        let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (x >> 24) as u8
            })
            .collect()
    }

    // The expected digests come from sha2 (its own simd128 backend here), an implementation
    // independent of the compression function above.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn every_length_to_300_and_64_kib_match_sha2() {
        for len in (0..=300).chain([4095, 4096, 65_535, 65_536, 65_537]) {
            let data = bytes(len, len as u32);
            let ours: [u8; 32] = Sha256::digest(&data).into();
            let theirs: [u8; 32] = sha2::Sha256::digest(&data).into();
            assert_eq!(ours, theirs, "length {len}");
        }
    }

    // The switch to sha2's compression (JavaScriptCore): the same digests either way, and
    // a state started with one and finished with the other.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn both_compressions_agree() {
        let data = bytes(65_600, 99);
        let want: [u8; 32] = sha2::Sha256::digest(&data).into();
        for first in [false, true] {
            use_sha2_compress(first);
            let mut h = Sha256::new();
            h.update(&data[..40_000]);
            use_sha2_compress(!first);
            h.update(&data[40_000..]);
            let got: [u8; 32] = h.finalize().into();
            use_sha2_compress(false);
            assert_eq!(got, want, "started with sha2's: {first}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn split_updates_match_one_update() {
        let data = bytes(1000, 7);
        let whole: [u8; 32] = sha2::Sha256::digest(&data).into();
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 999, 1000] {
            let mut ours = Sha256::new();
            ours.update(&data[..split]);
            ours.update(&data[split..]);
            let ours: [u8; 32] = ours.finalize().into();
            assert_eq!(ours, whole, "split at {split}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test]
    fn hmac_matches_hmac_over_sha2() {
        // Keys shorter than, equal to and longer than a block (hashed first).
        for key_len in [1, 26, 63, 64, 65, 200] {
            let key = bytes(key_len, 1000 + key_len as u32);
            for len in [0, 13, 64, 256, 4096, 65_536] {
                let data = bytes(len, len as u32 ^ 0x5a5a);
                let mut ours = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
                ours.update(&data);
                let mut theirs = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key).unwrap();
                theirs.update(&data);
                assert_eq!(
                    ours.finalize().into_bytes()[..],
                    theirs.finalize().into_bytes()[..],
                    "key {key_len} B, data {len} B"
                );
            }
        }
    }

    // FIPS 180-4 examples (NIST's published digests), independent of both implementations.
    #[wasm_bindgen_test::wasm_bindgen_test]
    fn nist_examples() {
        let cases: [(&[u8], &str); 3] = [
            (
                b"abc",
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
            (
                b"",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
            (
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            ),
        ];
        for (input, want) in cases {
            let got: [u8; 32] = Sha256::digest(input).into();
            let hex: String = got.iter().map(|b| format!("{b:02x}")).collect();
            assert_eq!(hex, want);
        }
    }
}
