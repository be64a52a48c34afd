// Rollup with its usual plugins (node-resolve for node_modules, commonjs), nothing else.
import { nodeResolve } from "@rollup/plugin-node-resolve";
import commonjs from "@rollup/plugin-commonjs";

export default {
  input: "src/entry.mjs",
  output: { file: process.env.ROLLUP_OUT, format: "es" },
  plugins: [nodeResolve({ browser: true }), commonjs()],
};
