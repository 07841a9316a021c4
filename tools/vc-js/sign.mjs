#!/usr/bin/env node
/**
 * Sign a credential with the reference libraries (eddsa-rdfc-2022), offline.
 *
 *   node sign.mjs [REQUEST.json]      (standard input without a file)
 *
 * A request is {"credential": {...unsigned...}, "jwk": {"kty": "OKP", "crv":
 * "Ed25519", "x": ..., "d": ...}, "verificationMethod": "..."?, "didDocuments":
 * [...]?, "created": "2026-01-15T10:00:00Z"?}. Prints the signed credential.
 */
import {readFileSync} from 'node:fs';

import {signCredential} from './lib/reference.mjs';

const request = JSON.parse(readFileSync(process.argv[2] || 0, 'utf8'));
process.stdout.write(JSON.stringify(await signCredential(request)));
