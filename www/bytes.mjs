// Input conversions for the page: how the bytes the user typed are spelled (text, hex,
// base64). No webhook logic here: every check is a call into the package.

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Error raised for input that cannot be decoded; its message is shown next to the field. */
export class InputError extends Error {}

/** The bytes of `text` spelled as hex; whitespace between digits is allowed. */
export function hexToBytes(text) {
  const digits = text.replace(/\s+/g, "");
  if (digits.length % 2 !== 0) throw new InputError("hex needs an even number of digits");
  if (!/^[0-9a-fA-F]*$/.test(digits)) throw new InputError("hex may only contain 0-9 and a-f");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** The bytes of standard or URL-safe base64 (padding optional, whitespace ignored). */
export function base64ToBytes(text) {
  let b64 = text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.replace(/=+$/, "").length % 4 === 1) {
    throw new InputError("not valid base64");
  }
  b64 = b64.replace(/=+$/, "");
  b64 += "=".repeat((4 - (b64.length % 4)) % 4);
  const binary = atob(b64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Standard base64 of bytes (used to show a binary file in the body field). */
export function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The UTF-8 text of `bytes`, or `null` when they are not valid UTF-8. */
export function bytesToText(bytes) {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

/** Number of UTF-8 bytes of a string. */
export function utf8Length(text) {
  return utf8.encode(text).length;
}

/**
 * A value as typed in a field with an encoding selector: `{ value, text, length }`, where
 * `value` is what is passed to the package (the string itself for text, bytes otherwise),
 * `text` is its UTF-8 reading (or `null`), and `length` its length in bytes.
 */
export function decodeField(raw, encoding) {
  if (encoding === "text") return { value: raw, text: raw, length: utf8Length(raw) };
  const bytes = encoding === "hex" ? hexToBytes(raw) : base64ToBytes(raw);
  return { value: bytes, text: bytesToText(bytes), length: bytes.length };
}

/** A byte count for people: "63 bytes", "4.0 KiB (4096 bytes)". */
export function formatBytes(n) {
  if (n < 1024) return `${n} byte${n === 1 ? "" : "s"}`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let unit = "";
  for (const u of units) {
    if (v < 1024) break;
    v /= 1024;
    unit = u;
  }
  return `${v.toFixed(1)} ${unit} (${n.toLocaleString("en")} bytes)`;
}

/** A duration in seconds for people: "5 s", "3 min 12 s", "2 d 4 h". */
export function formatDuration(seconds) {
  let s = Math.abs(Math.round(seconds));
  const parts = [];
  for (const [unit, size] of [["d", 86400], ["h", 3600], ["min", 60], ["s", 1]]) {
    if (s >= size || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(s / size)} ${unit}`);
      s %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}
