import { after } from 'node:test';
import { sqliteBackend } from '../helpers/store-backends.js';
import { hubAdminSuite } from './hub-admin-suite.js';

const backend = sqliteBackend();
after(() => backend.cleanup());
hubAdminSuite(backend);
