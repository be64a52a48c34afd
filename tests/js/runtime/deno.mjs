// Deno 2 (exports condition `import` → index.mjs: the .wasm inlined, compiled synchronously).
import * as fw from "foreman-webhook";
import * as fv from "foreman-webhook/verify";
import { runAll } from "./check.mjs";

const dir = Deno.env.get("FOREMAN_VECTORS");
const read = async (name) => JSON.parse(await Deno.readTextFile(`${dir}/${name}`));
const counts = await runAll(fw, await read("signatures.json"), await read("artifacts.json"), await read("standard.json"), fv);
console.log(JSON.stringify({ entry: import.meta.resolve("foreman-webhook"), ...counts }));
