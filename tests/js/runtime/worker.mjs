// A webhook receiver as a Cloudflare Worker (and, wrapped by edge.mjs, a Vercel edge
// function): the js/README.md receiver, plus /vectors which runs the shared cases in the runtime.
// Bundled by esbuild with the vector files inlined; the .wasm stays a separate module.
import { verifySignatureReason } from "foreman-webhook";
import * as fw from "foreman-webhook";
import * as fv from "foreman-webhook/verify";
import { runAll } from "./check.mjs";
import signatures from "../../vectors/signatures.json";
import artifacts from "../../vectors/artifacts.json";
import standard from "../../vectors/standard.json";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/vectors") {
      return Response.json(await runAll(fw, signatures, artifacts, standard, fv));
    }
    if (request.method !== "POST") return new Response("POST a webhook\n", { status: 405 });
    const body = new Uint8Array(await request.arrayBuffer());
    const reason = verifySignatureReason(body, request.headers.get("x-foreman-signature"), [
      env.FOREMAN_SECRET_OLD,
      env.FOREMAN_SECRET,
    ]);
    if (reason !== "ok") return new Response(`refused: ${reason}\n`, { status: 401 });
    const event = JSON.parse(new TextDecoder().decode(body));
    return new Response(`accepted ${event.job_id} ${event.state}\n`);
  },
};
