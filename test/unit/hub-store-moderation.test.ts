import { after } from 'node:test';
import { sqliteBackend } from '../helpers/store-backends.js';
import { hubStoreModerationSuite } from './hub-store-moderation-suite.js';

const backend = sqliteBackend();
after(() => backend.cleanup());
hubStoreModerationSuite(backend);
