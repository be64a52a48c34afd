// foreman-webhook for Deno 2: a source-phase import gives the compiled WebAssembly.Module, with no
// permission needed; it is instantiated synchronously here.
import source wasmModule from "./foreman_webhook_bg.wasm";
import { initSync } from "./foreman_webhook.js";

initSync({ module: wasmModule });

export { /* @exports */ } from "./foreman_webhook.js";
