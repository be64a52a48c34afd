// The receiver of worker.mjs as a Vercel edge function in edge-runtime (service-worker
// style fetch event); the secrets come from globals the harness sets, like env vars.
import worker from "./worker.mjs";

addEventListener("fetch", (event) => {
  event.respondWith(
    worker.fetch(event.request, {
      FOREMAN_SECRET: globalThis.FOREMAN_SECRET,
      FOREMAN_SECRET_OLD: globalThis.FOREMAN_SECRET_OLD,
    }),
  );
});
