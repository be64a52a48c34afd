// foreman-webhook for Vercel / Next.js edge functions (`edge-light`): the `?module` import is
// compiled at build time and arrives as a WebAssembly.Module, instantiated synchronously here.
import wasmModule from "./foreman_webhook_bg.wasm?module";
import { initSync } from "./foreman_webhook.js";

initSync({ module: wasmModule });

export { /* @exports */ } from "./foreman_webhook.js";
