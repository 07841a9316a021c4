/**
 * The reference verifier and signer, wired for offline use.
 *
 * Everything a verification needs comes from memory: the JSON-LD contexts from
 * their npm packages (lib/contexts.mjs), did:key documents computed by
 * @digitalbazaar/did-method-key, and the did:web documents and status list
 * credentials the caller passes in. Any other URL is an error, never a fetch.
 */
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as vc from '@digitalbazaar/vc';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';

import {bundledContexts} from './contexts.mjs';

const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

const CONTEXTS = bundledContexts();

/**
 * A documentLoader serving the bundled contexts, did:key, the given did:web
 * documents (and their verification methods) and status list credentials.
 */
export function makeDocumentLoader({didDocuments = [], statusLists = []} = {}) {
  const documents = new Map();
  for(const didDocument of didDocuments) {
    documents.set(didDocument.id, didDocument);
    for(const method of didDocument.verificationMethod || []) {
      const id = method.id.startsWith('#') ? didDocument.id + method.id : method.id;
      documents.set(id, {'@context': didDocument['@context'], ...method, id});
    }
  }
  for(const statusList of statusLists) {
    documents.set(statusList.id, statusList);
  }
  return async function documentLoader(url) {
    const context = CONTEXTS.get(url);
    const document = context || documents.get(url) ||
      (url.startsWith('did:key:') ? await didKey.get({url}) : undefined);
    if(!document) {
      throw new Error(`offline document loader: ${url} is not available`);
    }
    return {contextUrl: null, documentUrl: url, document};
  };
}

export function verificationSuite() {
  return new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
}

/**
 * Verify a credential as @digitalbazaar/vc does, plus its status.
 *
 * Returns {verified, errors, expired, status: {revoked, suspended} | null}. As in
 * the library, `verified` says nothing about status: a revoked credential can
 * still be verified (pitfall 7); read `status`.
 */
export async function verifyCredential({
  credential, didDocuments = [], statusLists = [], now
}) {
  const documentLoader = makeDocumentLoader({didDocuments, statusLists});
  const suite = verificationSuite();
  // The library insists on a status checker for a credential with
  // credentialStatus; without lists to check against, status is "not checked"
  // (null), not a failure of the proof.
  const statusChecker = statusLists.length > 0 ? checkStatus :
    async () => ({verified: true, notChecked: true});
  let result;
  try {
    result = await vc.verifyCredential({
      credential,
      suite,
      documentLoader,
      now,
      checkStatus: statusChecker,
    });
  } catch(error) {
    result = {verified: false, error};
  }
  const errors = collectErrors(result);
  const expired = errors.some(message =>
    /expired|is after "validUntil"/.test(message));
  return {verified: result.verified === true, errors, expired,
    status: statusOf(result.statusResult)};
}

function collectErrors(result) {
  const messages = [];
  const add = error => {
    if(!error) {
      return;
    }
    if(Array.isArray(error)) {
      error.forEach(add);
      return;
    }
    if(error.errors) {
      add(error.errors);
    }
    messages.push(error.message || String(error));
  };
  add(result.error);
  for(const proofResult of result.results || []) {
    add(proofResult.error);
  }
  return [...new Set(messages)];
}

function statusOf(statusResult) {
  if(!statusResult || statusResult.notChecked) {
    return null;
  }
  const status = {revoked: false, suspended: false, verified: statusResult.verified === true};
  if(statusResult.error) {
    status.error = statusResult.error.message;
  }
  for(const entry of statusResult.results || []) {
    const purpose = entry.credentialStatus && entry.credentialStatus.statusPurpose;
    if(purpose === 'revocation') {
      status.revoked = entry.status === true;
    } else if(purpose === 'suspension') {
      status.suspended = entry.status === true;
    }
  }
  return status;
}

/**
 * Sign `credential` with an Ed25519 private key given as a JWK (kty OKP, crv
 * Ed25519, x and d), as the did:key of that key unless `verificationMethod`
 * names another method (a did:web key, whose DID document must be passed).
 */
export async function signCredential({
  credential, jwk, verificationMethod, didDocuments = [], created
}) {
  const publicOnly = await Ed25519Multikey.fromJwk({jwk});
  const {publicKeyMultibase} = await publicOnly.export({publicKey: true});
  const id = verificationMethod || `did:key:${publicKeyMultibase}#${publicKeyMultibase}`;
  const keyPair = await Ed25519Multikey.fromJwk({
    jwk, secretKey: true, id, controller: id.split('#')[0]
  });
  const suite = new DataIntegrityProof({
    signer: keyPair.signer(), cryptosuite: eddsaRdfc2022,
    date: created ? new Date(created) : undefined,
  });
  const documentLoader = makeDocumentLoader({didDocuments});
  return vc.issue({credential: structuredClone(credential), suite, documentLoader});
}
