// foreman-webhook for Node.js (and Bun), ES module: `import { verifySignature } from "foreman-webhook"`.
// The .wasm next to this file is compiled synchronously when the module loads: no init call.
import { readFileSync } from "node:fs";
import { initSync } from "./foreman_webhook.js";

initSync({ module: readFileSync(new URL("./foreman_webhook_bg.wasm", import.meta.url)) });

export { /* @exports */ } from "./foreman_webhook.js";
