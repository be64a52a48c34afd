//! SHA-256 compression shapes (issue 14). Exports over one 64 KiB buffer; bench.mjs runs
//! them in Node (V8) or Bun (JavaScriptCore) and checks every result against sha2's.
#![no_std]
#![allow(clippy::all, unused_unsafe, unused_variables, unused_assignments)]

use core::arch::wasm32::*;

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

/// The shipped module, unchanged (its `Sha256` digest type and the sha2 switch).
#[path = "../../src/wasm/sha256.rs"]
#[allow(dead_code)]
mod shipped;

static mut BUF: [[u8; 64]; 1024] = [[0; 64]; 1024];
static mut STATE: [u32; 8] = [0; 8];
static mut OUT: [u8; 32] = [0; 32];

#[no_mangle]
pub extern "C" fn buf() -> *mut u8 {
    unsafe { core::ptr::addr_of_mut!(BUF).cast() }
}
#[no_mangle]
pub extern "C" fn out() -> *const u8 {
    unsafe { core::ptr::addr_of!(OUT).cast() }
}
#[no_mangle]
pub extern "C" fn st(i: usize) -> u32 {
    unsafe { STATE[i & 7] }
}
const H0: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
fn blocks(n: usize) -> &'static [[u8; 64]] {
    unsafe { &(&*core::ptr::addr_of!(BUF))[..n.min(1024)] }
}

/// sha2 0.11.1's `compress256` over `n` blocks from H0.
#[no_mangle]
pub extern "C" fn sha2_compress(n: usize) {
    let mut s = H0;
    sha2::block_api::compress256(&mut s, blocks(n));
    unsafe { STATE = s };
}

/// The shipped digest (src/wasm/sha256.rs) of the first `n` bytes, into OUT; `sha2` 1 runs
/// it with sha2's compression (the JavaScriptCore setting).
#[no_mangle]
pub extern "C" fn shipped_digest(n: usize, sha2: u32) {
    use sha2::Digest;
    shipped::use_sha2_compress(sha2 != 0);
    let data = unsafe { core::slice::from_raw_parts(core::ptr::addr_of!(BUF).cast::<u8>(), n.min(65536)) };
    let d: [u8; 32] = shipped::Sha256::digest(data).into();
    unsafe { OUT = d };
}

/// sha2's digest of the first `n` bytes, into OUT.
#[no_mangle]
pub extern "C" fn sha2_digest(n: usize) {
    use sha2::Digest;
    let data = unsafe { core::slice::from_raw_parts(core::ptr::addr_of!(BUF).cast::<u8>(), n.min(65536)) };
    let d: [u8; 32] = sha2::Sha256::digest(data).into();
    unsafe { OUT = d };
}

static K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];
static mut WK: [u32; 16] = [0; 16];
static mut SAVED: [u32; 8] = [0; 8];

#[inline(always)]
fn k4(i: usize) -> v128 {
    unsafe { v128_load(K.as_ptr().add(i).cast()) }
}
/// K read from memory at each use (not folded into constants).
#[inline(always)]
fn k4_mem(i: usize) -> v128 {
    unsafe { core::ptr::read_volatile(K.as_ptr().add(i).cast::<v128>()) }
}
#[inline(always)]
fn load_be(b: &[u8; 64], at: usize) -> v128 {
    let v = unsafe { v128_load(b.as_ptr().add(at).cast()) };
    i8x16_shuffle::<3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12>(v, v)
}
/// sha2's `sha256_update_x`, as in the shipped module.
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

/// One shape: `$wk` how a group's W+K words reach the rounds (`lanes`: extract_lane;
/// `memory`: a static area read back), `$s0`/`$s1` the big sigmas, `$maj` Maj, `$body`
/// `unrolled` (64 rounds) or `loop16` (a 16-round loop body run 3 times + 16 rounds).
macro_rules! shape {
    ($name:ident, $wk:ident, $s0:expr, $s1:expr, $maj:expr, $body:ident) => {
        shape!($name, $wk, $s0, $s1, $maj, $body, k4);
    };
    ($name:ident, $wk:ident, $s0:expr, $s1:expr, $maj:expr, $body:ident, $kf:ident) => {
        shape!($name, $wk, $s0, $s1, $maj, $body, $kf, locals);
    };
    ($name:ident, $wk:ident, $s0:expr, $s1:expr, $maj:expr, $body:ident, $kf:ident, $save:ident) => {
        #[no_mangle]
        pub extern "C" fn $name(n: usize) {
            let (s0f, s1f, majf) = ($s0, $s1, $maj);
            let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = H0;
            let wp = unsafe { core::ptr::addr_of_mut!(WK).cast::<u32>() };
            for block in blocks(n) {
                let (mut x0, mut x1, mut x2, mut x3) =
                    (load_be(block, 0), load_be(block, 16), load_be(block, 32), load_be(block, 48));
                shape!(@save $save saved; a, b, c, d, e, f, g, h);
                macro_rules! r {
                    ($a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident, $w:expr) => {{
                        let t1 = $h.wrapping_add($w).wrapping_add($g ^ ($e & ($f ^ $g))).wrapping_add(s1f($e));
                        $d = $d.wrapping_add(t1);
                        $h = t1.wrapping_add(s0f($a).wrapping_add(majf($a, $b, $c)));
                    }};
                }
                macro_rules! four {
                    ($x:ident, $k:expr, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {{
                        let wk = u32x4_add($x, $kf($k));
                        shape!(@$wk wk, wp, $k, r, $a, $b, $c, $d, $e, $f, $g, $h);
                    }};
                }
                macro_rules! sixteen {
                    ($k:expr, $sched:expr) => {{
                        four!(x0, $k, a, b, c, d, e, f, g, h);
                        if $sched { x0 = next4(x0, x1, x2, x3); }
                        four!(x1, $k + 4, e, f, g, h, a, b, c, d);
                        if $sched { x1 = next4(x1, x2, x3, x0); }
                        four!(x2, $k + 8, a, b, c, d, e, f, g, h);
                        if $sched { x2 = next4(x2, x3, x0, x1); }
                        four!(x3, $k + 12, e, f, g, h, a, b, c, d);
                        if $sched { x3 = next4(x3, x0, x1, x2); }
                    }};
                }
                shape!(@$body sixteen);
                shape!(@add $save saved; a, b, c, d, e, f, g, h);
            }
            unsafe { STATE = [a, b, c, d, e, f, g, h] };
        }
    };
    (@lanes $wk:ident, $wp:ident, $k:expr, $r:ident, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {{
        $r!($a, $b, $c, $d, $e, $f, $g, $h, u32x4_extract_lane::<0>($wk));
        $r!($h, $a, $b, $c, $d, $e, $f, $g, u32x4_extract_lane::<1>($wk));
        $r!($g, $h, $a, $b, $c, $d, $e, $f, u32x4_extract_lane::<2>($wk));
        $r!($f, $g, $h, $a, $b, $c, $d, $e, u32x4_extract_lane::<3>($wk));
    }};
    (@memory $wk:ident, $wp:ident, $k:expr, $r:ident, $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident) => {{
        let at = $k & 15;
        unsafe { v128_store($wp.add(at).cast(), $wk) };
        $r!($a, $b, $c, $d, $e, $f, $g, $h, unsafe { $wp.add(at).read_volatile() });
        $r!($h, $a, $b, $c, $d, $e, $f, $g, unsafe { $wp.add(at + 1).read_volatile() });
        $r!($g, $h, $a, $b, $c, $d, $e, $f, unsafe { $wp.add(at + 2).read_volatile() });
        $r!($f, $g, $h, $a, $b, $c, $d, $e, unsafe { $wp.add(at + 3).read_volatile() });
    }};
    (@save locals $s:ident; $($v:ident),*) => {
        let $s = [$($v),*];
    };
    (@add locals $s:ident; $($v:ident),*) => {{
        let [a0, b0, c0, d0, e0, f0, g0, h0] = $s;
        shape!(@addall $($v),* ; a0, b0, c0, d0, e0, f0, g0, h0);
    }};
    (@save memory $s:ident; $($v:ident),*) => {
        let $s = unsafe { core::ptr::addr_of_mut!(SAVED).cast::<u32>() };
        for (i, v) in [$($v),*].into_iter().enumerate() {
            unsafe { $s.add(i).write_volatile(v) };
        }
    };
    (@add memory $s:ident; $($v:ident),*) => {{
        let r = |i: usize| unsafe { $s.add(i).read_volatile() };
        let (a0, b0, c0, d0, e0, f0, g0, h0) = (r(0), r(1), r(2), r(3), r(4), r(5), r(6), r(7));
        shape!(@addall $($v),* ; a0, b0, c0, d0, e0, f0, g0, h0);
    }};
    (@addall $a:ident, $b:ident, $c:ident, $d:ident, $e:ident, $f:ident, $g:ident, $h:ident ; $a0:ident, $b0:ident, $c0:ident, $d0:ident, $e0:ident, $f0:ident, $g0:ident, $h0:ident) => {
        $a = $a.wrapping_add($a0); $b = $b.wrapping_add($b0); $c = $c.wrapping_add($c0); $d = $d.wrapping_add($d0);
        $e = $e.wrapping_add($e0); $f = $f.wrapping_add($f0); $g = $g.wrapping_add($g0); $h = $h.wrapping_add($h0);
    };
    (@unrolled $sixteen:ident) => {{
        $sixteen!(0, true);
        $sixteen!(16, true);
        $sixteen!(32, true);
        $sixteen!(48, false);
    }};
    (@loop16 $sixteen:ident) => {{
        for i in 0..3 {
            $sixteen!(16 * i, true);
        }
        $sixteen!(48, false);
    }};
}

const S0: fn(u32) -> u32 = |a| a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
const S1: fn(u32) -> u32 = |e| e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
const S0_NESTED: fn(u32) -> u32 = |a| (a ^ (a ^ a.rotate_right(9)).rotate_right(11)).rotate_right(2);
const S1_NESTED: fn(u32) -> u32 = |e| (e ^ (e ^ e.rotate_right(14)).rotate_right(5)).rotate_right(6);
const S0_HALF: fn(u32) -> u32 = |a| (a ^ a.rotate_right(11) ^ a.rotate_right(20)).rotate_right(2);
const S1_HALF: fn(u32) -> u32 = |e| (e ^ e.rotate_right(5) ^ e.rotate_right(19)).rotate_right(6);
const MAJ_XOR: fn(u32, u32, u32) -> u32 = |a, b, c| b ^ ((a ^ b) & (b ^ c));
const MAJ_AND: fn(u32, u32, u32) -> u32 = |a, b, c| (a & b) ^ (a & c) ^ (b & c);

// The shipped shape (memory, plain sigmas, Maj by xor, unrolled) and one change each.
shape!(memory_unrolled, memory, S0, S1, MAJ_XOR, unrolled);
shape!(lanes_unrolled, lanes, S0, S1, MAJ_XOR, unrolled);
shape!(lanes_unrolled_maj_and, lanes, S0, S1, MAJ_AND, unrolled);
shape!(memory_unrolled_nested_sigmas, memory, S0_NESTED, S1_NESTED, MAJ_XOR, unrolled);
shape!(memory_loop16, memory, S0, S1, MAJ_XOR, loop16);
shape!(memory_unrolled_kmem, memory, S0, S1, MAJ_XOR, unrolled, k4_mem);
shape!(memory_unrolled_sigmas_factored, memory, S0_HALF, S1_HALF, MAJ_XOR, unrolled);
shape!(memory_unrolled_s0_factored, memory, S0_HALF, S1, MAJ_XOR, unrolled);
shape!(memory_unrolled_s1_factored, memory, S0, S1_HALF, MAJ_XOR, unrolled);
shape!(memory_unrolled_maj_and, memory, S0, S1, MAJ_AND, unrolled);
shape!(memory_unrolled_saved_in_memory, memory, S0, S1, MAJ_XOR, unrolled, k4, memory);
