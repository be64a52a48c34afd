// foreman-webhook for browsers and bundlers: the .wasm is fetched (bundlers emit it as an asset
// from the `new URL(..., import.meta.url)` pattern) and instantiated before this module finishes
// loading (top-level await), so every export is synchronous once imported.
import init from "./foreman_webhook.js";

await init({ module_or_path: new URL("./foreman_webhook_bg.wasm", import.meta.url) });

export { /* @exports */ } from "./foreman_webhook.js";
