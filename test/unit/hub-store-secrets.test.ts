import { after } from 'node:test';
import { sqliteBackend } from '../helpers/store-backends.js';
import { hubStoreSecretsSuite } from './hub-store-secrets-suite.js';

const backend = sqliteBackend();
after(() => backend.cleanup());
hubStoreSecretsSuite(backend);
