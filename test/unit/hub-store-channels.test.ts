import { after } from 'node:test';
import { sqliteBackend } from '../helpers/store-backends.js';
import { hubStoreChannelsSuite } from './hub-store-channels-suite.js';

const backend = sqliteBackend();
after(() => backend.cleanup());
hubStoreChannelsSuite(backend);
