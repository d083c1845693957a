import { after } from 'node:test';
import { sqliteBackend } from '../helpers/store-backends.js';
import { hubStoreWebhooksSuite } from './hub-store-webhooks-suite.js';

const backend = sqliteBackend();
after(() => backend.cleanup());
hubStoreWebhooksSuite(backend);
