// What every runtime runs: the shared vectors and the bad-input matrix against the package
// as that runtime loaded it. Returns the counts (checked by tests/js/runtimes.test.mjs).
import { runArtifactVectors, runBadInputs, runSignatureVectors } from "../vectors.mjs";
import { runStandardBadInputs, runStandardVectors } from "../standard-vectors.mjs";
import { runTriggers } from "../triggers.mjs";

export async function runAll(fw, signatures, artifacts, standard) {
  return {
    signatures: runSignatureVectors(fw, signatures),
    artifacts: await runArtifactVectors(fw, artifacts),
    badInputs: runBadInputs(fw),
    standard: runStandardVectors(fw, standard),
    standardBadInputs: runStandardBadInputs(fw),
    hostile: runTriggers(fw),
  };
}
