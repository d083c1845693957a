/**
 * What the pages' scripts write in each language (i18n.js with the catalogues as the edge serves them): the
 * plural form a number takes in Russian and Swedish, numbers, durations and dates through Intl, and API
 * errors by their code, with the server's own words for a code the catalogue does not have.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadCatalogues } from '../../src/edge/page-catalogue.js';
import {
  errorText,
  formatDate,
  formatHoursMinutes,
  formatRelative,
  t,
  useCatalogue,
} from '../../src/edge/public/i18n.js';
import { formatBitrate, formatUptime, formatViewers } from '../../src/edge/public/format.js';
import { describeClose } from '../../src/edge/public/chat-format.js';

const catalogues = loadCatalogues();
/** Intl's no-break spaces as plain ones, to compare with plain text. */
const plain = (s: string) => s.replace(/\s/g, ' ');

test('Russian: one, few and many, as Russian counts', () => {
  useCatalogue('ru', catalogues.get('ru')!);
  const viewers = [0, 1, 2, 4, 5, 11, 21, 22, 25, 101, 111].map(formatViewers);
  assert.deepEqual(viewers, [
    '0 зрителей',
    '1 зритель',
    '2 зрителя',
    '4 зрителя',
    '5 зрителей',
    '11 зрителей',
    '21 зритель',
    '22 зрителя',
    '25 зрителей',
    '101 зритель',
    '111 зрителей',
  ]);
  assert.equal(plain(formatViewers(1234)), '1,2 тыс. зрителей', 'after thousands, the word agrees with them');
  assert.equal(t('directory.summary', { count: 3 }), '3 канала в эфире');
  assert.equal(plain(formatUptime(1, 1 + 80 * 60_000)), 'в эфире 1 ч 20 мин');
  assert.equal(plain(formatBitrate(2_500_000)), '2,5 Мбит/с');
  assert.equal(formatRelative(Date.now() - 86_400_000), 'вчера');
  assert.equal(
    plain(formatDate(Date.UTC(2026, 0, 5, 14, 5), { dateStyle: 'long', timeZone: 'UTC' })),
    '5 января 2026 г.',
  );
  assert.equal(describeClose(4403, 'BANNED').text, 'Вы забанены в этом чате.');
});

test('Swedish: one and other; Swedish numbers and dates', () => {
  useCatalogue('sv', catalogues.get('sv')!);
  assert.deepEqual([1, 2].map(formatViewers), ['1 tittare', '2 tittare']);
  assert.equal(t('directory.summary', { count: 1 }), '1 kanal sänder');
  assert.equal(t('directory.summary', { count: 2 }), '2 kanaler sänder');
  assert.equal(plain(formatHoursMinutes(125 * 60_000)), '2 tim 5 min');
  assert.equal(plain(formatBitrate(2_500_000)), '2,5 Mbit/s');
  assert.equal(formatRelative(Date.now() + 2 * 3_600_000), 'om 2 timmar');
});

test('API errors by their code; the server words an unknown code, or what was wrong with a value', () => {
  useCatalogue('ru', catalogues.get('ru')!);
  assert.equal(
    errorText({ status: 409, code: 'DUPLICATE_NAME', message: 'name taken' }),
    'Это имя занято. Попробуйте другое.',
  );
  assert.equal(
    errorText({ code: 'NETWORK' }),
    'Не удалось связаться с сервером. Проверьте подключение и попробуйте ещё раз.',
  );
  assert.equal(
    errorText({ status: 418, code: 'SOMETHING_NEW', message: 'the teapot is busy' }),
    'The teapot is busy.',
  );
  assert.equal(errorText({ status: 502, code: 'HTTP_502' }), t('errors.HUB_UNAVAILABLE'));
  assert.equal(
    errorText({ status: 400, code: 'INVALID_VALUE', message: 'title is at most 140 characters' }),
    'Сервер не принял значение: Title is at most 140 characters.',
  );
  assert.equal(errorText({ status: 400, code: 'INVALID_VALUE' }), t('errors.generic'));
  assert.equal(errorText(null), 'Что-то пошло не так. Попробуйте ещё раз.');
  useCatalogue('en', catalogues.get('en')!);
  assert.equal(
    errorText({ status: 400, code: 'INVALID_VALUE', message: 'password must be at least 8 characters' }),
    'Password must be at least 8 characters.',
  );
});

test('variables are filled as they are: a value with markup stays text for textContent', () => {
  useCatalogue('en', catalogues.get('en')!);
  assert.equal(t('watch.followTitle', { channel: '<b>x</b> & y' }), 'Follow <b>x</b> & y');
  assert.equal(t('no.such.key'), 'no.such.key');
});
