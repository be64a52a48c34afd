// foreman-webhook for Cloudflare Workers (workerd): wrangler and workerd import a .wasm file as a
// compiled WebAssembly.Module, which is instantiated synchronously here. Nothing is compiled from
// bytes at run time (edge runtimes forbid it).
import wasmModule from "./foreman_webhook_bg.wasm";
import { initSync } from "./foreman_webhook.js";

initSync({ module: wasmModule });

export { /* @exports */ } from "./foreman_webhook.js";
