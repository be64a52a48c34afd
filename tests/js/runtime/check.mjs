// What every runtime runs: the shared vectors and the bad-input matrix against the package
// as that runtime loaded it. Returns the counts (checked by tests/js/runtimes.test.mjs).
import { runArtifactVectors, runBadInputs, runSignatureVectors } from "../vectors.mjs";
import { runStandardBadInputs, runStandardVectors } from "../standard-vectors.mjs";
import { runTriggers } from "../triggers.mjs";

const isVerifyCase = (name) => /^(verifySignature|createVerifier|Verifier\.verify|body|secret|signature)/.test(name);

/** The verify-only entry (foreman-webhook/verify), given with the main entry's signer. */
function runVerifyEntry(fv, fw, signatures) {
  const withSigner = { ...fv, signPayload: fw.signPayload };
  return {
    signatures: runSignatureVectors(withSigner, signatures),
    badInputs: runBadInputs(withSigner, isVerifyCase),
    hostile: runTriggers(fv, isVerifyCase),
  };
}

export async function runAll(fw, signatures, artifacts, standard, fv) {
  return {
    ...(fv ? { verifyEntry: runVerifyEntry(fv, fw, signatures) } : {}),
    signatures: runSignatureVectors(fw, signatures),
    artifacts: await runArtifactVectors(fw, artifacts),
    badInputs: runBadInputs(fw),
    standard: runStandardVectors(fw, standard),
    standardBadInputs: runStandardBadInputs(fw),
    hostile: runTriggers(fw),
  };
}
