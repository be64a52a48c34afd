// Bun, ES module: `import` resolves through the package's exports conditions.
import * as fw from "foreman-webhook";
import * as fv from "foreman-webhook/verify";
import { readFileSync } from "node:fs";
import { runAll } from "./check.mjs";

const read = (name) => JSON.parse(readFileSync(`${process.env.FOREMAN_VECTORS}/${name}`, "utf8"));
const counts = await runAll(fw, read("signatures.json"), read("artifacts.json"), read("standard.json"), fv);
console.log(JSON.stringify({ entry: import.meta.resolve("foreman-webhook"), ...counts }));
