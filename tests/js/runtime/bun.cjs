// Bun, CommonJS: `require` resolves through the package's exports conditions.
const fw = require("foreman-webhook");
const fv = require("foreman-webhook/verify");
const { readFileSync } = require("node:fs");

const read = (name) => JSON.parse(readFileSync(`${process.env.FOREMAN_VECTORS}/${name}`, "utf8"));
import("./check.mjs")
  .then(({ runAll }) => runAll(fw, read("signatures.json"), read("artifacts.json"), read("standard.json"), fv))
  .then((counts) => console.log(JSON.stringify({ entry: require.resolve("foreman-webhook"), ...counts })))
  .catch((e) => {
    console.error(e);
    process.exit(1);
  });
