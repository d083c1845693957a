/**
 * The pages' pure modules in Node speak English, as a page served in English does: the English catalogue as
 * the edge loads it, given to i18n.js (which in a page reads it from the page itself).
 */
import { loadCatalogues } from '../../src/edge/page-catalogue.js';
import { useCatalogue } from '../../src/edge/public/i18n.js';

export function useEnglish(): void {
  useCatalogue('en', loadCatalogues().get('en')!);
}
