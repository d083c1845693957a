import { after } from 'node:test';
import { sqliteBackend } from '../helpers/store-backends.js';
import { hubStoreAnalyticsSuite } from './hub-store-analytics-suite.js';

const backend = sqliteBackend();
after(() => backend.cleanup());
hubStoreAnalyticsSuite(backend);
