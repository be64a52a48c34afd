// foreman-webhook/verify: the X-Foreman-Signature verifier alone, over a small .wasm of its
// own. Same functions, same answers and errors as the main entry.
export {
  verifySignature,
  verifySignatureReason,
  createVerifier,
  wasmMemory,
  type BytesInput,
  type SecretInput,
  type VerifyReason,
  type Verifier,
  type WasmMemory,
} from "./index.js";
