// The entry every bundler builds (for Node and for browsers): runs the probe, prints the
// result as JSON and leaves it on globalThis for the browser harness.
import { probe } from "./probe.mjs";

const result = probe();
globalThis.__result = result;
console.log(JSON.stringify(result));
